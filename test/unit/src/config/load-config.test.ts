// Config: computed defaults, parsing, and one clear error per bad value (the constant defaults
// are the schema's: schema.test.ts).
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir, totalmem } from 'node:os'
import { rootCertificates } from 'node:tls'
import { join } from 'node:path'
import { getHeapStatistics } from 'node:v8'
import t from 'tap'
import { ConfigError, loadConfig, readDotenv } from '../../../../src/config/index.ts'
import { secrets } from '../../../helpers/bridge.ts'

t.test('open development mode (no secrets) listens on 127.0.0.1 unless HOST says otherwise', async (t) => {
  t.match(loadConfig({}), { host: '127.0.0.1', openDevelopment: true })
  t.match(loadConfig({ HOST: '0.0.0.0' }), { host: '0.0.0.0', openDevelopment: true })
  t.match(loadConfig({ BRIDGE_API_TOKEN: 'dev-token' }), { host: '0.0.0.0', openDevelopment: false })
  t.match(loadConfig({ BRIDGE_JWT_SECRET: 'dev-secret' }), { host: '0.0.0.0', openDevelopment: false })
  t.match(loadConfig({ NODE_ENV: 'production', BRIDGE_API_TOKEN: secrets.apiToken, BRIDGE_JWT_SECRET: secrets.jwtSecret }), { host: '0.0.0.0', openDevelopment: false })
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
    BRIDGE_SHUTDOWN_TIMEOUT: '5000',
    BRIDGE_REQUEST_TIMEOUT: '15000',
    BRIDGE_RECOVERY_WINDOW: '30',
    BRIDGE_METRICS_TOKEN: 'scrape-token'
  })
  t.match(config, {
    port: 8080,
    host: '127.0.0.1',
    logLevel: 'debug',
    corsOrigins: ['https://app.example.com', 'http://localhost:5173'],
    bodyLimit: 131072,
    maxRoomsPerSocket: 20,
    idempotencyTtlSeconds: 0,
    shutdownTimeoutMs: 5000,
    requestTimeoutMs: 15000,
    recoveryWindowSeconds: 30,
    metricsToken: 'scrape-token'
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
    [{ BRIDGE_SHUTDOWN_TIMEOUT: '10s' }, /^BRIDGE_SHUTDOWN_TIMEOUT must be a whole number/],
    [{ BRIDGE_REQUEST_TIMEOUT: '30s' }, /^BRIDGE_REQUEST_TIMEOUT must be a whole number/],
    [{ BRIDGE_REQUEST_TIMEOUT: '500' }, /^BRIDGE_REQUEST_TIMEOUT must be between 1000/],
    [{ BRIDGE_RECOVERY_WINDOW: '2m' }, /^BRIDGE_RECOVERY_WINDOW must be a whole number between 1 and 86400, got "2m"$/],
    [{ BRIDGE_RECOVERY_WINDOW: '0' }, /^BRIDGE_RECOVERY_WINDOW must be between 1 and 86400, got 0$/],
    [{ NODE_ENV: 'production', ...productionSecrets(), BRIDGE_METRICS_TOKEN: 'short' }, /^BRIDGE_METRICS_TOKEN must be at least 32 bytes/]
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

t.test('load-shedding thresholds: non-zero defaults, 0 turns one off, bad values refused', async (t) => {
  const defaults = loadConfig({})
  t.equal(defaults.maxEventLoopDelayMs, 100)
  t.equal(defaults.maxEventLoopUtilization, 1, 'utilization alone never sheds')
  const heapLimit = getHeapStatistics().heap_size_limit
  t.equal(defaults.maxHeapUsedBytes, Math.floor(heapLimit * 0.9), '90% of the V8 heap limit')
  t.ok(defaults.maxRssBytes > 0 && defaults.maxRssBytes <= totalmem() * 0.9, 'at most 90% of the memory available')
  t.equal(defaults.idempotencyMaxEntries, 1_000_000)

  t.match(loadConfig({
    BRIDGE_MAX_EVENT_LOOP_DELAY: '250',
    BRIDGE_MAX_EVENT_LOOP_UTILIZATION: '.9',
    BRIDGE_MAX_HEAP_USED_BYTES: '0',
    BRIDGE_MAX_RSS_BYTES: '2147483648',
    BRIDGE_IDEMPOTENCY_MAX_ENTRIES: '5000'
  }), { maxEventLoopDelayMs: 250, maxEventLoopUtilization: 0.9, maxHeapUsedBytes: 0, maxRssBytes: 2147483648, idempotencyMaxEntries: 5000 })
  t.equal(loadConfig({ BRIDGE_MAX_EVENT_LOOP_UTILIZATION: '1' }).maxEventLoopUtilization, 1)

  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ BRIDGE_MAX_EVENT_LOOP_DELAY: '1s' }, /^BRIDGE_MAX_EVENT_LOOP_DELAY must be a whole number between 0 and 60000, got "1s"$/],
    [{ BRIDGE_MAX_EVENT_LOOP_UTILIZATION: '98%' }, /^BRIDGE_MAX_EVENT_LOOP_UTILIZATION must be a number between 0 and 1 \(e\.g\. 0\.98\), got "98%"$/],
    [{ BRIDGE_MAX_EVENT_LOOP_UTILIZATION: '1.5' }, /^BRIDGE_MAX_EVENT_LOOP_UTILIZATION must be a number between 0 and 1/],
    [{ BRIDGE_MAX_EVENT_LOOP_UTILIZATION: '-0.5' }, /^BRIDGE_MAX_EVENT_LOOP_UTILIZATION must be a number between 0 and 1/],
    [{ BRIDGE_MAX_HEAP_USED_BYTES: '512MB' }, /^BRIDGE_MAX_HEAP_USED_BYTES must be a whole number/],
    [{ BRIDGE_MAX_RSS_BYTES: '1e9' }, /^BRIDGE_MAX_RSS_BYTES must be a whole number/],
    [{ BRIDGE_IDEMPOTENCY_MAX_ENTRIES: '0' }, /^BRIDGE_IDEMPOTENCY_MAX_ENTRIES must be between 1 and/],
    // One Map holds a time-to-live's claims, and a V8 Map holds at most 2^24 entries.
    [{ BRIDGE_IDEMPOTENCY_MAX_ENTRIES: '20000000' }, /^BRIDGE_IDEMPOTENCY_MAX_ENTRIES must be between 1 and 10000000, got 20000000$/]
  ]
  for (const [env, message] of cases) {
    t.throws(() => loadConfig(env), { name: 'ConfigError', message }, JSON.stringify(env))
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

t.test('REDIS_SENTINELS with REDIS_SENTINEL_NAME, or REDIS_CLUSTER_NODES, choose the other Redis deployments', async (t) => {
  t.same(loadConfig({ REDIS_SENTINELS: '10.0.0.1:26379, sentinel-2:26379,[fd00::3]:26379', REDIS_SENTINEL_NAME: 'mymaster' }).redisSentinel, {
    nodes: [{ host: '10.0.0.1', port: 26379 }, { host: 'sentinel-2', port: 26379 }, { host: 'fd00::3', port: 26379 }],
    name: 'mymaster'
  })
  t.same(loadConfig({ REDIS_CLUSTER_NODES: 'redis-1:7000,redis-2:7001' }).redisClusterNodes, [{ host: 'redis-1', port: 7000 }, { host: 'redis-2', port: 7001 }])
  t.equal(loadConfig({}).redisSentinel, undefined)
  t.equal(loadConfig({}).redisClusterNodes, undefined)
  t.equal(loadConfig({ REDIS_URL: 'redis://localhost:6379', BRIDGE_REDIS_PREFIX: '{app}:' }).redisPrefix, '{app}:', 'a hash tag is fine on one Redis')

  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ REDIS_SENTINELS: '10.0.0.1:26379' }, /^REDIS_SENTINEL_NAME must be set too: a Sentinel deployment needs the sentinels and the name of the primary they monitor$/],
    [{ REDIS_SENTINEL_NAME: 'mymaster' }, /^REDIS_SENTINELS must be set too/],
    [{ REDIS_SENTINELS: '10.0.0.1', REDIS_SENTINEL_NAME: 'm' }, /^REDIS_SENTINELS must list host:port entries separated by commas \(e\.g\. 10\.0\.0\.1:26379,10\.0\.0\.2:26379\), got "10\.0\.0\.1"$/],
    [{ REDIS_SENTINELS: 'a:1,b:70000', REDIS_SENTINEL_NAME: 'm' }, /^REDIS_SENTINELS must list host:port entries .*, got "b:70000"$/],
    [{ REDIS_SENTINELS: 'a:1', REDIS_SENTINEL_NAME: 'my master' }, /^REDIS_SENTINEL_NAME must be 1-128 characters/],
    [{ REDIS_CLUSTER_NODES: 'redis://redis-1:7000' }, /^REDIS_CLUSTER_NODES must list host:port entries .*, got "redis:\/\/redis-1:7000"$/],
    [{ REDIS_CLUSTER_NODES: ',' }, /^REDIS_CLUSTER_NODES must list host:port entries/],
    [{ REDIS_URL: 'redis://localhost:6379', REDIS_CLUSTER_NODES: 'redis-1:7000' }, /^REDIS_URL and REDIS_CLUSTER_NODES are both set: set only one of REDIS_URL \(one Redis\), REDIS_SENTINELS \(Sentinel\) or REDIS_CLUSTER_NODES \(Redis Cluster\)$/],
    [{ REDIS_SENTINELS: 'a:1', REDIS_SENTINEL_NAME: 'm', REDIS_CLUSTER_NODES: 'redis-1:7000' }, /^REDIS_SENTINELS and REDIS_CLUSTER_NODES are both set/],
    [{ REDIS_CLUSTER_NODES: 'redis-1:7000', BRIDGE_REDIS_PREFIX: 'bridge:{app}:' }, /^BRIDGE_REDIS_PREFIX must not hold a hash tag \(\{…\}\) with REDIS_CLUSTER_NODES: it would put every key of the bridge in one slot of the Redis Cluster, got "bridge:\{app\}:"$/],
    [{ REDIS_CLUSTER_NODES: 'redis-1:7000', BRIDGE_REDIS_PREFIX: 'bridge{' }, /^BRIDGE_REDIS_PREFIX must not hold a hash tag/]
  ]
  for (const [env, message] of cases) {
    t.throws(() => loadConfig(env), { name: 'ConfigError', message }, JSON.stringify(env))
  }
})

t.test('REDIS_PASSWORD, REDIS_TLS and REDIS_TLS_CA secure the Sentinel and Cluster deployments; every misuse is one line without the password', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'bridge-config-ca-'))
  // Node's own CA certificates: a real PEM bundle, without a file in the repository.
  const bundle = join(dir, 'ca.pem')
  await writeFile(bundle, `# two CAs\n${rootCertificates.slice(0, 2).join('\n')}\n`)
  const notPem = join(dir, 'ca.der')
  await writeFile(notPem, 'not a certificate')
  const broken = join(dir, 'broken.pem')
  await writeFile(broken, '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n')
  const cluster = { REDIS_CLUSTER_NODES: 'redis-1:7000' }
  const sentinels = { REDIS_SENTINELS: '10.0.0.1:26379', REDIS_SENTINEL_NAME: 'mymaster' }
  const password = 's3cret-pass'

  t.match(loadConfig({}), { redisTls: false, redisPassword: undefined, redisTlsCa: undefined })
  t.match(loadConfig({ ...cluster, REDIS_USERNAME: 'bridge', REDIS_PASSWORD: password, REDIS_TLS: 'on' }), { redisUsername: 'bridge', redisPassword: password, redisTls: true })
  const secured = loadConfig({ ...sentinels, REDIS_PASSWORD: password, REDIS_SENTINEL_USERNAME: 'watcher', REDIS_SENTINEL_PASSWORD: 'other', REDIS_TLS: 'on', REDIS_TLS_CA: bundle })
  t.match(secured, { redisPassword: password, redisSentinelUsername: 'watcher', redisSentinelPassword: 'other', redisTls: true })
  t.equal(secured.redisTlsCa, rootCertificates.slice(0, 2).map((pem) => pem.trim()).join('\n'), 'the certificates of the file, without its other lines')
  t.ok(loadConfig({ REDIS_URL: 'rediss://:pw@redis:6380', REDIS_TLS_CA: bundle }).redisTlsCa, 'with a rediss:// REDIS_URL')
  t.ok(loadConfig({ REDIS_URL: 'REDISS://redis:6380', REDIS_TLS_CA: bundle }).redisTlsCa, 'the scheme in any case')
  t.ok(loadConfig({ BRIDGE_LARAVEL_REDIS_URL: 'rediss://redis:6380', REDIS_TLS_CA: bundle }).redisTlsCa, 'with a rediss:// BRIDGE_LARAVEL_REDIS_URL')

  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ REDIS_URL: 'redis://redis:6379', REDIS_PASSWORD: password },
      /^REDIS_PASSWORD does not apply to REDIS_URL: write them in the URL, rediss:\/\/user:password@host:6379 \(rediss:\/\/ for TLS, redis:\/\/ without; percent-encode special characters\)$/],
    [{ REDIS_URL: 'redis://redis:6379', REDIS_USERNAME: 'bridge', REDIS_PASSWORD: password, REDIS_TLS: 'on' }, /^REDIS_USERNAME, REDIS_PASSWORD, REDIS_TLS do not apply to REDIS_URL: write them in the URL/],
    [{ REDIS_PASSWORD: password }, /^REDIS_PASSWORD needs REDIS_SENTINELS or REDIS_CLUSTER_NODES: they are for the Redis servers of a Sentinel set or a Redis Cluster$/],
    [{ REDIS_TLS: 'on' }, /^REDIS_TLS needs REDIS_SENTINELS or REDIS_CLUSTER_NODES/],
    [{ ...cluster, REDIS_SENTINEL_PASSWORD: password }, /^REDIS_SENTINEL_PASSWORD needs REDIS_SENTINELS: they are the sentinels' own credentials$/],
    [{ REDIS_URL: 'redis://redis:6379', REDIS_SENTINEL_USERNAME: 'w', REDIS_SENTINEL_PASSWORD: password }, /^REDIS_SENTINEL_USERNAME, REDIS_SENTINEL_PASSWORD need REDIS_SENTINELS/],
    [{ ...cluster, REDIS_USERNAME: 'bridge' }, /^REDIS_USERNAME needs REDIS_PASSWORD: the ACL user logs in with it$/],
    [{ ...sentinels, REDIS_SENTINEL_USERNAME: 'watcher' }, /^REDIS_SENTINEL_USERNAME needs REDIS_SENTINEL_PASSWORD/],
    [{ ...cluster, REDIS_TLS: 'maybe' }, /^REDIS_TLS must be on or off, got "maybe"$/],
    [{ ...cluster, REDIS_PASSWORD: password, REDIS_TLS_CA: bundle },
      /^REDIS_TLS_CA is set but no Redis connection uses TLS: set REDIS_TLS=on \(with REDIS_SENTINELS or REDIS_CLUSTER_NODES\), or use a rediss:\/\/ REDIS_URL or BRIDGE_LARAVEL_REDIS_URL$/],
    [{ REDIS_URL: 'redis://redis:6379', REDIS_TLS_CA: bundle }, /^REDIS_TLS_CA is set but no Redis connection uses TLS/],
    [{ ...cluster, REDIS_TLS: 'on', REDIS_TLS_CA: join(dir, 'missing.pem') }, /^REDIS_TLS_CA must be a readable PEM file of CA certificates, could not read ".*missing\.pem" \(ENOENT\)$/],
    [{ ...cluster, REDIS_TLS: 'on', REDIS_TLS_CA: dir }, /^REDIS_TLS_CA must be a readable PEM file of CA certificates, could not read ".*" \(EISDIR\)$/],
    [{ ...cluster, REDIS_TLS: 'on', REDIS_TLS_CA: notPem }, /^REDIS_TLS_CA must be a PEM file of CA certificates \(-----BEGIN CERTIFICATE----- …\), ".*ca\.der" is not$/],
    [{ ...cluster, REDIS_TLS: 'on', REDIS_TLS_CA: broken }, /^REDIS_TLS_CA must be a PEM file of CA certificates/]
  ]
  for (const [env, message] of cases) {
    t.throws(() => loadConfig(env), { name: 'ConfigError', message }, JSON.stringify(env))
    t.throws(() => loadConfig(env), { message: /^(?!.*s3cret)/ }, 'the password is not repeated')
  }
})

t.test('Laravel Broadcasting and Echo settings (section 5): defaults, values, one line per bad value', async (t) => {
  t.match(loadConfig({}), {
    authEndpoint: undefined,
    authTimeoutMs: 5000,
    authConcurrency: 64,
    whispers: true,
    maxWhispersPerSecond: 10,
    pusher: undefined,
    laravelRedisUrl: undefined,
    laravelRedisPrefix: 'laravel_database_'
  })
  t.match(loadConfig({
    BRIDGE_AUTH_ENDPOINT: 'https://app.example.com/broadcasting/auth',
    BRIDGE_AUTH_TIMEOUT: '2000',
    BRIDGE_AUTH_CONCURRENCY: '16',
    BRIDGE_WHISPERS: 'off',
    BRIDGE_MAX_WHISPERS_PER_SECOND: '5',
    BRIDGE_PUSHER_APP_ID: '1001',
    BRIDGE_PUSHER_KEY: 'app-key',
    BRIDGE_PUSHER_SECRET: 'app-secret',
    BRIDGE_LARAVEL_REDIS_URL: 'redis://127.0.0.1:6379/0',
    BRIDGE_LARAVEL_REDIS_PREFIX: 'shop_database_'
  }), {
    authEndpoint: 'https://app.example.com/broadcasting/auth',
    authTimeoutMs: 2000,
    authConcurrency: 16,
    whispers: false,
    maxWhispersPerSecond: 5,
    pusher: { appId: '1001', key: 'app-key', secret: 'app-secret' },
    laravelRedisUrl: 'redis://127.0.0.1:6379/0',
    laravelRedisPrefix: 'shop_database_'
  })
  t.equal(loadConfig({ BRIDGE_LARAVEL_REDIS_PREFIX: '' }).laravelRedisPrefix, '', 'an app without a prefix')
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ BRIDGE_AUTH_ENDPOINT: '/broadcasting/auth' }, /^BRIDGE_AUTH_ENDPOINT must be a URL like https:/],
    [{ BRIDGE_AUTH_ENDPOINT: 'ftp://app/broadcasting/auth' }, /^BRIDGE_AUTH_ENDPOINT must start with http:\/\/ or https:\/\//],
    [{ BRIDGE_AUTH_TIMEOUT: '5s' }, /^BRIDGE_AUTH_TIMEOUT must be a whole number/],
    [{ BRIDGE_AUTH_CONCURRENCY: '0' }, /^BRIDGE_AUTH_CONCURRENCY must be between 1 and 10000, got 0$/],
    [{ BRIDGE_WHISPERS: 'maybe' }, /^BRIDGE_WHISPERS must be on or off, got "maybe"$/],
    [{ BRIDGE_MAX_WHISPERS_PER_SECOND: '0' }, /^BRIDGE_MAX_WHISPERS_PER_SECOND must be between 1/],
    [{ BRIDGE_PUSHER_APP_ID: '1001' }, /^BRIDGE_PUSHER_KEY, BRIDGE_PUSHER_SECRET must be set too/],
    [{ BRIDGE_PUSHER_APP_ID: 'a b', BRIDGE_PUSHER_KEY: 'k', BRIDGE_PUSHER_SECRET: 's' }, /^BRIDGE_PUSHER_APP_ID must be 1-64 characters/],
    [{ BRIDGE_LARAVEL_REDIS_URL: 'localhost:6379' }, /^BRIDGE_LARAVEL_REDIS_URL must start with redis:\/\//],
    [{ BRIDGE_LARAVEL_REDIS_PREFIX: 'has space' }, /^BRIDGE_LARAVEL_REDIS_PREFIX must be 0-128 characters/]
  ]
  for (const [env, message] of cases) {
    t.throws(() => loadConfig(env), { name: 'ConfigError', message }, JSON.stringify(env))
  }
  t.throws(() => loadConfig({ NODE_ENV: 'production', ...productionSecrets(), BRIDGE_PUSHER_APP_ID: '1', BRIDGE_PUSHER_KEY: 'k', BRIDGE_PUSHER_SECRET: 'short' }),
    { name: 'ConfigError', message: /^BRIDGE_PUSHER_SECRET must be at least 32 bytes when NODE_ENV=production/ },
    'the Pusher secret follows the rules of the other secrets in production')
})

t.test('socket limits (section 3): defaults, values, one line per bad value', async (t) => {
  t.match(loadConfig({}), {
    maxSubscribesPerSecond: 20,
    connectTimeoutMs: 5000,
    maxPendingConnections: 1000,
    maxPendingConnectionsPerAddress: 50,
    trustProxy: []
  })
  t.match(loadConfig({
    BRIDGE_MAX_SUBSCRIBES_PER_SECOND: '5',
    BRIDGE_CONNECT_TIMEOUT: '2000',
    BRIDGE_MAX_PENDING_CONNECTIONS: '200',
    BRIDGE_MAX_PENDING_CONNECTIONS_PER_ADDRESS: '10',
    BRIDGE_TRUST_PROXY: ' 10.0.0.0/8 , loopback ,'
  }), {
    maxSubscribesPerSecond: 5,
    connectTimeoutMs: 2000,
    maxPendingConnections: 200,
    maxPendingConnectionsPerAddress: 10,
    trustProxy: ['10.0.0.0/8', 'loopback']
  })
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ BRIDGE_MAX_SUBSCRIBES_PER_SECOND: '0' }, /^BRIDGE_MAX_SUBSCRIBES_PER_SECOND must be between 1/],
    [{ BRIDGE_CONNECT_TIMEOUT: '5s' }, /^BRIDGE_CONNECT_TIMEOUT must be a whole number/],
    [{ BRIDGE_CONNECT_TIMEOUT: '10' }, /^BRIDGE_CONNECT_TIMEOUT must be between 100/],
    [{ BRIDGE_MAX_PENDING_CONNECTIONS: '0' }, /^BRIDGE_MAX_PENDING_CONNECTIONS must be between 1/],
    [{ BRIDGE_MAX_PENDING_CONNECTIONS_PER_ADDRESS: '-1' }, /^BRIDGE_MAX_PENDING_CONNECTIONS_PER_ADDRESS must be a whole number/],
    [{ BRIDGE_TRUST_PROXY: '10.0.0.0/8,proxy.internal' }, /^BRIDGE_TRUST_PROXY must list proxy addresses or CIDR ranges .*got "proxy.internal"$/]
  ]
  for (const [env, message] of cases) {
    t.throws(() => loadConfig(env), { name: 'ConfigError', message }, JSON.stringify(env))
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

t.test('webhooks (section 7): URL, events and batch; refused without the Pusher app or with unknown names', async (t) => {
  const app = { BRIDGE_PUSHER_APP_ID: '1001', BRIDGE_PUSHER_KEY: 'app-key', BRIDGE_PUSHER_SECRET: 'app-secret' }
  const defaults = loadConfig({})
  t.equal(defaults.webhookUrl, undefined)
  t.same(defaults.webhookEvents, ['channel_occupied', 'channel_vacated', 'member_added', 'member_removed'], 'all but client_event')
  t.equal(defaults.webhookBatchMs, 50)
  t.match(loadConfig({ ...app, BRIDGE_WEBHOOK_URL: 'https://app.example.com/pusher/webhooks', BRIDGE_WEBHOOK_EVENTS: 'member_added, client_event,member_added', BRIDGE_WEBHOOK_BATCH_MS: '0' }), {
    webhookUrl: 'https://app.example.com/pusher/webhooks',
    webhookEvents: ['member_added', 'client_event'],
    webhookBatchMs: 0
  })
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ BRIDGE_WEBHOOK_URL: 'https://app.example.com/pusher/webhooks' }, /^BRIDGE_WEBHOOK_URL needs BRIDGE_PUSHER_APP_ID, BRIDGE_PUSHER_KEY and BRIDGE_PUSHER_SECRET/],
    [{ ...app, BRIDGE_WEBHOOK_URL: '/pusher/webhooks' }, /^BRIDGE_WEBHOOK_URL must be a URL like https:\/\/app.example.com\/pusher\/webhooks/],
    [{ ...app, BRIDGE_WEBHOOK_URL: 'ftp://app.example.com/hooks' }, /^BRIDGE_WEBHOOK_URL must start with http:\/\/ or https:\/\//],
    [{ BRIDGE_WEBHOOK_EVENTS: 'channel_occupied,user_online' }, /^BRIDGE_WEBHOOK_EVENTS must list some of channel_occupied, .*client_event, got "user_online"$/],
    [{ BRIDGE_WEBHOOK_BATCH_MS: '-1' }, /^BRIDGE_WEBHOOK_BATCH_MS must be a whole number/]
  ]
  for (const [env, message] of cases) {
    t.throws(() => loadConfig(env), { name: 'ConfigError', message }, JSON.stringify(env))
  }
})
