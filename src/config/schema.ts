// Every environment variable the bridge reads, once: its Config field, type and bounds,
// default and README meaning. Parsing (load-config.ts), the `Config` type, the README
// configuration table (`npm run config-table`) and the help text (help.ts) all come from here.
// A new variable is one entry below; docs/development.md says how.
import { Type, type Static } from 'typebox'
import { choice, choices, fraction, httpUrl, integer, onOff, origins, pemFile, proxies, redisNodes, redisUrl, secret, text, together, tokens } from './kinds.ts'
import { defaultMaxHeapUsedBytes, defaultMaxRssBytes } from './memory-defaults.ts'

const MAX_BYTES = Number.MAX_SAFE_INTEGER

export const WEBHOOK_EVENT_NAMES = ['channel_occupied', 'channel_vacated', 'member_added', 'member_removed', 'client_event'] as const
const PREFIX_RULE = 'characters of A-Z a-z 0-9 _ - . : { }'

export const PusherApp = Type.Object({
  appId: text('BRIDGE_PUSHER_APP_ID', {
    meaning: "all three turn on the Pusher HTTP API for Laravel's `pusher` broadcaster ([Laravel Broadcasting](docs/broadcasting.md)); the secret follows the secret rules below",
    pattern: '^[A-Za-z0-9_\\-.]{1,64}$',
    rule: '1-64 characters of A-Z a-z 0-9 _ - .'
  }),
  key: text('BRIDGE_PUSHER_KEY', { row: 'BRIDGE_PUSHER_APP_ID', pattern: '^[A-Za-z0-9_\\-.]{1,128}$', rule: '1-128 characters of A-Z a-z 0-9 _ - .', echo: false }),
  secret: secret('BRIDGE_PUSHER_SECRET', { row: 'BRIDGE_PUSHER_APP_ID' })
})

export const RedisSentinel = Type.Object({
  nodes: redisNodes('REDIS_SENTINELS', {
    meaning: '[cluster mode](docs/cluster.md) on a Sentinel-managed Redis: the sentinels, `host:port,…` (e.g. `10.0.0.1:26379,10.0.0.2:26379,10.0.0.3:26379`), with the name of the primary they monitor; instead of `REDIS_URL`'
  }),
  name: text('REDIS_SENTINEL_NAME', { row: 'REDIS_SENTINELS', pattern: '^[A-Za-z0-9_\\-.]{1,128}$', rule: '1-128 characters of A-Z a-z 0-9 _ - .' })
})

export const ConfigSchema = Type.Object({
  nodeEnv: text('NODE_ENV', {
    default: 'development',
    meaning: '`production` requires the secrets and refuses `CORS_ORIGINS=*` ([Security](docs/security.md)); it also turns off `/demo`'
  }),
  production: Type.Boolean({ description: 'NODE_ENV is production' }),
  port: integer('PORT', { minimum: 0, maximum: 65535, default: 3000, meaning: 'where to listen' }),
  // Open development mode serves this machine only, unless HOST says otherwise.
  host: text('HOST', {
    row: 'PORT',
    default: ({ openDevelopment }) => openDevelopment ? '127.0.0.1' : '0.0.0.0',
    defaultText: '`0.0.0.0`, but `127.0.0.1` in open development mode (no secrets)'
  }),
  openDevelopment: Type.Boolean({ description: 'No BRIDGE_API_TOKEN and no BRIDGE_JWT_SECRET outside production: anyone may publish and subscribe' }),
  logLevel: choice('LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
    default: 'info',
    meaning: '`fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent`'
  }),
  apiTokens: tokens('BRIDGE_API_TOKEN', {
    requiredInProduction: 'bearer token(s) for publishers',
    meaning: 'bearer token(s) publishers send; comma-separated to accept several while rotating. Required in production'
  }),
  apiSigningSecret: Type.Optional(secret('BRIDGE_API_SIGNING_SECRET', { meaning: 'turns on request signing (`X-Bridge-Timestamp`, `X-Bridge-Signature`)' })),
  jwtSecret: Type.Optional(secret('BRIDGE_JWT_SECRET', {
    requiredInProduction: 'secret of the socket tokens Laravel issues',
    meaning: 'HS256 secret of the socket tokens Laravel issues. Required in production'
  })),
  corsOrigins: origins('CORS_ORIGINS', {
    default: ({ production }) => production ? [] : true,
    defaultText: '`*` outside production, none in production',
    meaning: 'allowed browser origins, comma-separated (`https://app.example.com,https://admin.example.com`); `*` is refused in production'
  }),
  bodyLimit: integer('BRIDGE_BODY_LIMIT', { minimum: 1024, maximum: 64 * 1024 * 1024, default: 65536, meaning: 'largest request body in bytes (413 past it)' }),
  idempotencyTtlSeconds: integer('BRIDGE_IDEMPOTENCY_TTL', {
    minimum: 0,
    maximum: 7 * 24 * 3600,
    default: 600,
    meaning: 'seconds a `uuid` is remembered for de-duplication (`0` turns it off)'
  }),
  idempotencyMaxEntries: integer('BRIDGE_IDEMPOTENCY_MAX_ENTRIES', {
    minimum: 1,
    // One V8 Map holds at most about 16.7 million entries.
    maximum: 10_000_000,
    default: 1_000_000,
    meaning: 'most de-duplication claims (uuids, request signatures) one bridge keeps, each for its whole window, at most 128 bytes each (1–10000000); when all are taken, publishes get 503 until the oldest expire. Cluster mode keeps claims in Redis instead'
  }),
  maxRoomsPerSocket: integer('BRIDGE_MAX_ROOMS_PER_SOCKET', { minimum: 1, maximum: 100_000, default: 100, meaning: 'rooms one connection may join' }),
  maxSubscribesPerSecond: integer('BRIDGE_MAX_SUBSCRIBES_PER_SECOND', {
    minimum: 1,
    maximum: 10_000,
    default: 20,
    meaning: 'subscribe/unsubscribe calls (both protocols together) one connection may make a second; past it `RATE_LIMITED` ([limits](docs/security.md#limits-and-timeouts-sockets))'
  }),
  connectTimeoutMs: integer('BRIDGE_CONNECT_TIMEOUT', {
    minimum: 100,
    maximum: 60_000,
    default: 5000,
    meaning: 'ms from the Engine.IO handshake to a completed (authenticated) socket.io connect; slower connections are closed'
  }),
  maxPendingConnections: integer('BRIDGE_MAX_PENDING_CONNECTIONS', {
    minimum: 1,
    maximum: 1_000_000,
    default: 1000,
    meaning: 'connections per node that have not completed the connect yet; past it handshakes are refused 503'
  }),
  maxPendingConnectionsPerAddress: integer('BRIDGE_MAX_PENDING_CONNECTIONS_PER_ADDRESS', {
    minimum: 1,
    maximum: 1_000_000,
    default: 50,
    meaning: 'the same per client address, applied only with `BRIDGE_TRUST_PROXY`'
  }),
  trustProxy: proxies('BRIDGE_TRUST_PROXY', {
    meaning: 'proxies whose `X-Forwarded-For` is believed: comma-separated addresses, CIDR ranges, `loopback`, `linklocal`, `uniquelocal`'
  }),
  recoveryWindowSeconds: integer('BRIDGE_RECOVERY_WINDOW', {
    minimum: 1,
    maximum: 24 * 3600,
    default: 120,
    meaning: 'seconds a client may be away and still recover what it missed: missed events, dropped sessions and dead nodes are kept this long, in memory and in Redis ([Missed events](docs/recovery.md))'
  }),
  recoveryMaxBytes: integer('BRIDGE_RECOVERY_MAX_BYTES', {
    minimum: 0,
    maximum: MAX_BYTES,
    default: 64 * 1024 * 1024,
    defaultText: '`67108864` (64 MiB)',
    meaning: 'memory one node spends keeping events for clients that reconnect ([Missed events](docs/recovery.md))'
  }),
  maxBufferedBytes: integer('BRIDGE_MAX_BUFFERED_BYTES', {
    minimum: 0,
    maximum: MAX_BYTES,
    default: 1024 * 1024,
    meaning: 'bytes waiting to be written to one socket (every write counts: events, acks, presence member lists) past which that socket is disconnected (a client that does not read); `0` never'
  }),
  shutdownTimeoutMs: integer('BRIDGE_SHUTDOWN_TIMEOUT', { minimum: 100, maximum: 10 * 60_000, default: 10_000, meaning: 'longest graceful shutdown, in ms; past it the process exits 1' }),
  requestTimeoutMs: integer('BRIDGE_REQUEST_TIMEOUT', {
    minimum: 1000,
    maximum: 10 * 60_000,
    default: 30_000,
    meaning: "ms from a request's first byte to its last (headers within 10 s), then 408 and closed ([limits](docs/security.md#limits-and-timeouts))"
  }),
  metricsToken: Type.Optional(secret('BRIDGE_METRICS_TOKEN', {
    meaning: 'when set, `/metrics` requires `Authorization: Bearer <token>`; open otherwise (local Prometheus)'
  })),
  maxEventLoopDelayMs: integer('BRIDGE_MAX_EVENT_LOOP_DELAY', {
    minimum: 0,
    maximum: 60_000,
    default: 100,
    meaning: 'load shedding past this mean event-loop delay over a 250 ms sample, and for the rest of a turn of the event loop that has run this long, in ms (`0` turns both off)'
  }),
  maxEventLoopUtilization: fraction('BRIDGE_MAX_EVENT_LOOP_UTILIZATION', {
    default: 1,
    meaning: 'load shedding past this event-loop utilization, 0–1; `1`: a busy but punctual loop is never shed (`0` turns it off too)'
  }),
  maxHeapUsedBytes: integer('BRIDGE_MAX_HEAP_USED_BYTES', {
    minimum: 0,
    maximum: MAX_BYTES,
    default: defaultMaxHeapUsedBytes,
    defaultText: "90% of V8's heap limit",
    meaning: 'load shedding past this heap use measured after a full garbage collection, in bytes (`0` turns it off)'
  }),
  maxRssBytes: integer('BRIDGE_MAX_RSS_BYTES', {
    minimum: 0,
    maximum: MAX_BYTES,
    default: defaultMaxRssBytes,
    defaultText: '90% of the memory limit',
    meaning: 'load shedding past this resident memory, in bytes (`0` turns it off)'
  }),
  // Cluster mode: the nodes share the bridge's own bus on a Redis stream (docs/cluster.md).
  redisUrl: Type.Optional(redisUrl('REDIS_URL', {
    meaning: 'turns on [cluster mode](docs/cluster.md): `redis://[user:password@]host:6379[/db]`, or `rediss://` for TLS'
  })),
  redisSentinel: together('a Sentinel deployment needs the sentinels and the name of the primary they monitor', RedisSentinel.properties),
  redisClusterNodes: Type.Optional(redisNodes('REDIS_CLUSTER_NODES', {
    meaning: '[cluster mode](docs/cluster.md) on a Redis Cluster: some of its nodes, `host:port,…`, from which the bridge learns the rest; instead of `REDIS_URL`'
  })),
  // Redis passwords are whatever the servers were given: no length rule, never echoed.
  redisPassword: Type.Optional(text('REDIS_PASSWORD', {
    echo: false,
    meaning: 'the password (and ACL user, if not `default`) of the Redis servers of `REDIS_SENTINELS` or `REDIS_CLUSTER_NODES`: every node of the Redis Cluster, the primary and replicas of the Sentinel set; with `REDIS_URL` they go in the URL'
  })),
  redisUsername: Type.Optional(text('REDIS_USERNAME', { row: 'REDIS_PASSWORD', echo: false })),
  redisSentinelPassword: Type.Optional(text('REDIS_SENTINEL_PASSWORD', {
    echo: false,
    meaning: "the sentinels' own password (`requirepass` in sentinel.conf) and ACL user, if they have one"
  })),
  redisSentinelUsername: Type.Optional(text('REDIS_SENTINEL_USERNAME', { row: 'REDIS_SENTINEL_PASSWORD', echo: false })),
  redisTls: onOff('REDIS_TLS', {
    default: false,
    meaning: 'TLS to the Redis servers and sentinels of `REDIS_SENTINELS` or `REDIS_CLUSTER_NODES`, their certificates and host names verified (with `REDIS_URL`: `rediss://`)'
  }),
  redisTlsCa: Type.Optional(pemFile('REDIS_TLS_CA', {
    meaning: "a PEM file of the CA certificates to trust for Redis's TLS instead of Node's default ones (`REDIS_TLS`, a `rediss://` `REDIS_URL` or `BRIDGE_LARAVEL_REDIS_URL`)"
  })),
  redisPrefix: text('BRIDGE_REDIS_PREFIX', {
    default: 'bridge:',
    pattern: '^[A-Za-z0-9_\\-.:{}]{1,64}$',
    rule: `1-64 ${PREFIX_RULE}`,
    meaning: 'prefix of every Redis key and channel of the bridge, so several deployments can share one Redis; with `REDIS_CLUSTER_NODES` it must not hold a hash tag (`{…}`)'
  }),
  redisStreamMaxEntries: integer('BRIDGE_REDIS_STREAM_MAX_ENTRIES', {
    // Not below 1,000: a node that fell behind past the cap must find a full read (500 entries).
    minimum: 1000,
    maximum: 100_000_000,
    default: 100_000,
    meaning: "about how many entries the cluster's Redis stream keeps at most, besides its `BRIDGE_RECOVERY_WINDOW` (at least `1000`; [what the bridge keeps in Redis](docs/cluster.md#what-the-bridge-keeps-in-redis))"
  }),
  pusher: together('the Pusher HTTP API needs the app id, key and secret', PusherApp.properties),
  laravelRedisUrl: Type.Optional(redisUrl('BRIDGE_LARAVEL_REDIS_URL', {
    meaning: "the app's Redis: the bridge takes the broadcasts of Laravel's `redis` broadcaster from it ([Laravel Broadcasting](docs/broadcasting.md))"
  })),
  laravelRedisPrefix: text('BRIDGE_LARAVEL_REDIS_PREFIX', {
    default: 'laravel_database_',
    allowEmpty: true,
    pattern: '^[A-Za-z0-9_\\-.:{}]{0,128}$',
    rule: `0-128 ${PREFIX_RULE}`,
    meaning: "what Laravel puts before channel names there (`config('database.redis.options.prefix')`; may be empty)"
  }),
  authEndpoint: Type.Optional(httpUrl('BRIDGE_AUTH_ENDPOINT', {
    example: 'https://app.example.com/broadcasting/auth',
    meaning: "Laravel's `/broadcasting/auth` URL: Laravel authorizes Echo's private and presence channels ([Laravel Echo](docs/echo.md))"
  })),
  authTimeoutMs: integer('BRIDGE_AUTH_TIMEOUT', { minimum: 100, maximum: 60_000, default: 5000, meaning: 'ms to wait for `BRIDGE_AUTH_ENDPOINT` (then `subscription_error` 504)' }),
  authConcurrency: integer('BRIDGE_AUTH_CONCURRENCY', {
    minimum: 1,
    maximum: 10_000,
    default: 64,
    meaning: 'calls to `BRIDGE_AUTH_ENDPOINT` in flight at once per node; past them and a bounded wait, `subscription_error` 429 ([limits](docs/security.md#limits-and-timeouts-sockets))'
  }),
  pusherActivityTimeout: integer('BRIDGE_PUSHER_ACTIVITY_TIMEOUT', {
    minimum: 1,
    maximum: 3600,
    default: 120,
    meaning: 'seconds of silence after which a Pusher-protocol connection is pinged (`activity_timeout`); no answer within 30 s (or this, when shorter) and it is closed ([pusher-js](docs/pusher.md))'
  }),
  maxConnections: integer('BRIDGE_MAX_CONNECTIONS', {
    minimum: 0,
    maximum: 10_000_000,
    default: 0,
    meaning: 'connections of every protocol (socket.io and Pusher) one node holds at once; past it socket.io handshakes are refused (`over_capacity`) and Pusher connections get `pusher:error` 4100 and are closed (`0`: no limit)'
  }),
  webhookUrl: Type.Optional(httpUrl('BRIDGE_WEBHOOK_URL', {
    example: 'https://app.example.com/pusher/webhooks',
    meaning: 'turns on [webhooks](docs/webhooks.md) in Pusher\'s format to this URL, signed with `BRIDGE_PUSHER_KEY` and `BRIDGE_PUSHER_SECRET` (which it needs)'
  })),
  webhookEvents: choices('BRIDGE_WEBHOOK_EVENTS', WEBHOOK_EVENT_NAMES, {
    default: ['channel_occupied', 'channel_vacated', 'member_added', 'member_removed'],
    defaultText: 'all but `client_event`',
    meaning: 'which webhook events are sent, comma-separated: `channel_occupied`, `channel_vacated`, `member_added`, `member_removed`, `client_event` (whispers)'
  }),
  webhookBatchMs: integer('BRIDGE_WEBHOOK_BATCH_MS', {
    minimum: 0,
    maximum: 10_000,
    default: 50,
    meaning: 'ms a webhook waits for others to share its request (at most 100 events a request)'
  }),
  whispers: onOff('BRIDGE_WHISPERS', { default: true, meaning: '`off` drops every Echo whisper (client event)' }),
  maxWhispersPerSecond: integer('BRIDGE_MAX_WHISPERS_PER_SECOND', {
    minimum: 1,
    maximum: 1000,
    default: 10,
    meaning: 'whispers one connection may send a second; the rest are dropped and counted'
  })
})

export type Config = Static<typeof ConfigSchema>
export type PusherApp = Static<typeof PusherApp>
export type RedisSentinel = Static<typeof RedisSentinel>
export type LogLevel = Config['logLevel']
