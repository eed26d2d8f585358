// Config: defaults, parsing, and one clear error per bad value.
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { ConfigError, loadConfig, readDotenv } from '../../src/config.ts'

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
  t.throws(() => loadConfig({ NODE_ENV: 'production', CORS_ORIGINS: '*', ...productionSecrets() }), /^CORS_ORIGINS must list the frontend origins/)
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

t.test('REDIS_URL turns on cluster mode; a bad one is refused without echoing it', async (t) => {
  t.equal(loadConfig({}).redisUrl, undefined, 'no Redis unless asked for')
  t.equal(loadConfig({}).redisPrefix, 'bridge:')
  for (const url of ['redis://localhost:6379', 'redis://:secret@redis.internal:6380/2', 'rediss://user:secret@cache.example.com:6380/0']) {
    t.equal(loadConfig({ REDIS_URL: url }).redisUrl, url)
  }
  t.equal(loadConfig({ BRIDGE_REDIS_PREFIX: 'staging:' }).redisPrefix, 'staging:')
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ REDIS_URL: 'localhost:6379' }, /^REDIS_URL must start with redis:\/\/ or rediss:\/\/, got "localhost:\/\/"$/],
    [{ REDIS_URL: 'http://secret@localhost:6379' }, /^REDIS_URL must start with redis:\/\/ or rediss:\/\/, got "http:\/\/"$/],
    [{ REDIS_URL: 'not a url with secret' }, /^REDIS_URL must be a URL like redis:\/\/\[user:password@\]host:6379\[\/db\]$/],
    [{ REDIS_URL: 'redis://:secret@localhost:6379/cache' }, /^REDIS_URL path must be a database number/],
    [{ REDIS_URL: 'redis:///0' }, /^REDIS_URL must name a host/],
    [{ BRIDGE_REDIS_PREFIX: 'has space' }, /^BRIDGE_REDIS_PREFIX must be 1-64 characters/],
    [{ BRIDGE_REDIS_PREFIX: 'x'.repeat(65) }, /^BRIDGE_REDIS_PREFIX must be 1-64 characters/]
  ]
  for (const [env, message] of cases) {
    t.throws(() => loadConfig(env), { name: 'ConfigError', message }, JSON.stringify(env))
    t.throws(() => loadConfig(env), { message: /^(?!.*secret)/ }, 'the value (which may hold a password) is not repeated')
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

/** The secrets production requires (each at least 32 bytes). */
function productionSecrets (): Record<string, string> {
  return { BRIDGE_API_TOKEN: 'a'.repeat(32), BRIDGE_JWT_SECRET: 'b'.repeat(32) }
}
