// Config: defaults, parsing, and one clear error per bad value.
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { ConfigError, loadConfig, readDotenv } from '../../src/config.ts'
import { secrets } from '../helper.ts'

t.test('defaults need no variables', async (t) => {
  const config = loadConfig({})
  t.match(config, {
    nodeEnv: 'development',
    production: false,
    port: 3000,
    host: '0.0.0.0',
    logLevel: 'info',
    corsOrigins: true,
    bodyLimit: 65536,
    maxRoomsPerSocket: 100,
    idempotencyTtlSeconds: 600,
    shutdownTimeoutMs: 10000
  })
})

t.test('values are read and converted', async (t) => {
  const config = loadConfig({
    PORT: '8080',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'debug',
    CORS_ORIGINS: 'https://app.example.com, http://localhost:5173',
    BRIDGE_BODY_LIMIT: '131072',
    BRIDGE_MAX_ROOMS_PER_SOCKET: '20',
    BRIDGE_IDEMPOTENCY_TTL: '0',
    BRIDGE_SHUTDOWN_TIMEOUT: '5000'
  })
  t.match(config, {
    port: 8080,
    host: '127.0.0.1',
    logLevel: 'debug',
    corsOrigins: ['https://app.example.com', 'http://localhost:5173'],
    bodyLimit: 131072,
    maxRoomsPerSocket: 20,
    idempotencyTtlSeconds: 0,
    shutdownTimeoutMs: 5000
  })
})

t.test('CORS allows every origin only outside production unless configured', async (t) => {
  t.equal(loadConfig({ NODE_ENV: 'development' }).corsOrigins, true)
  t.same(loadConfig({ NODE_ENV: 'production', ...productionSecrets() }).corsOrigins, [])
  t.throws(() => loadConfig({ NODE_ENV: 'production', CORS_ORIGINS: '*', ...productionSecrets() }), ConfigError,
    'production names its origins')
})

t.test('each bad value is refused with one line naming the variable', async (t) => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ PORT: 'http' }, /^PORT must be a whole number between 0 and 65535, got "http"$/],
    [{ PORT: '70000' }, /^PORT must be between 0 and 65535, got 70000$/],
    [{ PORT: '-1' }, /^PORT /],
    [{ PORT: '3000.5' }, /^PORT /],
    [{ LOG_LEVEL: 'loud' }, /^LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "loud"$/],
    [{ CORS_ORIGINS: 'not a url' }, /^CORS_ORIGINS must be/],
    [{ CORS_ORIGINS: 'https://app.example.com/path' }, /^CORS_ORIGINS entry "https:\/\/app.example.com\/path" is not an origin/],
    [{ BRIDGE_BODY_LIMIT: '10' }, /^BRIDGE_BODY_LIMIT must be between/],
    [{ BRIDGE_BODY_LIMIT: '64k' }, /^BRIDGE_BODY_LIMIT must be a whole number/],
    [{ BRIDGE_MAX_ROOMS_PER_SOCKET: '0' }, /^BRIDGE_MAX_ROOMS_PER_SOCKET must be between 1/],
    [{ BRIDGE_IDEMPOTENCY_TTL: 'ten minutes' }, /^BRIDGE_IDEMPOTENCY_TTL must be a whole number/],
    [{ BRIDGE_SHUTDOWN_TIMEOUT: '10s' }, /^BRIDGE_SHUTDOWN_TIMEOUT must be a whole number/]
  ]
  for (const [env, message] of cases) {
    t.throws(() => loadConfig(env), { name: 'ConfigError', message }, JSON.stringify(env))
    try {
      loadConfig(env)
    } catch (error) {
      t.ok(error instanceof ConfigError)
      t.notMatch((error as Error).message, /\n/, 'one line')
    }
  }
})

t.test('empty values count as unset', async (t) => {
  t.equal(loadConfig({ PORT: '', LOG_LEVEL: '  ' }).port, 3000)
})

t.test('.env is read when present', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'bridge-env-'))
  const file = join(dir, '.env')
  await writeFile(file, 'PORT=4321\n# a comment\nLOG_LEVEL="warn"\n')
  t.same(readDotenv(file), { PORT: '4321', LOG_LEVEL: 'warn' })
  t.same(readDotenv(join(dir, 'missing.env')), {})
  t.equal(loadConfig({ ...readDotenv(file), PORT: '5000' }).port, 5000, 'the environment wins over .env')
})

/** The secrets production requires. */
function productionSecrets (): Record<string, string> {
  return { BRIDGE_API_TOKEN: secrets.apiToken, BRIDGE_JWT_SECRET: secrets.jwtSecret }
}
