// The start line's paths for the other setups: cluster, Pusher API, tokens, open development.
import t from 'tap'
import { loadConfig } from '../../../../src/config/index.ts'
import { enabledPaths } from '../../../../src/ops/start-summary.ts'
import { testEnv } from '../../../helpers/bridge.ts'

t.test('every enabled path named; secrets never, only which guard is on', async (t) => {
  const secured = loadConfig(testEnv({
    BRIDGE_API_TOKEN: 'publisher-token-0123456789abcdef',
    BRIDGE_API_SIGNING_SECRET: 'signing-secret-0123456789abcdef',
    BRIDGE_JWT_SECRET: 'jwt-secret-0123456789abcdef0123456789',
    BRIDGE_PUSHER_APP_ID: 'app-1',
    BRIDGE_PUSHER_KEY: 'key-1',
    BRIDGE_PUSHER_SECRET: 'pusher-secret-0123456789abcdef',
    REDIS_URL: 'redis://bridge:redis-password@redis.internal:6379/2',
    BRIDGE_WEBHOOK_URL: 'https://hook-user:hook-password@app.example.com/pusher/webhooks?token=hook-query',
    CORS_ORIGINS: 'https://app.example.com,https://admin.example.com'
  }))
  const paths = enabledPaths(secured)
  t.same(paths, [
    'HTTP API /api: bearer token (BRIDGE_API_TOKEN) and request signing',
    'socket.io rooms: the connection JWT (BRIDGE_JWT_SECRET)',
    'Laravel Echo: private and presence channels authorized by the connection JWT\'s rooms claim',
    'Pusher HTTP API /apps/app-1 (Laravel\'s pusher broadcaster)',
    'Pusher protocol /app/key-1 (pusher-js, Echo\'s reverb and pusher connectors), channels signed with the app secret',
    'webhooks to https://app.example.com/pusher/webhooks: channel_occupied, channel_vacated, member_added, member_removed, signed with the Pusher app\'s secret',
    'cluster mode on redis://redis.internal:6379/2 (keys under bridge:)',
    'browsers: https://app.example.com, https://admin.example.com, with cookies'
  ])
  t.notMatch(paths.join(), /password|secret-0123|token-0123|hook-query/, 'no secret')

  t.same(enabledPaths(loadConfig(testEnv({ NODE_ENV: 'development' }))), [
    'HTTP API /api: open, no token',
    'socket.io rooms: open, every room',
    'Laravel Echo: open, every channel allowed',
    'single node (no REDIS_URL)',
    'browsers: any origin, without cookies (CORS_ORIGINS=*)'
  ])
})

t.test('the start line names the Redis deployment: Sentinel or Redis Cluster', async (t) => {
  const sentinel = loadConfig(testEnv({ REDIS_SENTINELS: '10.0.0.1:26379, 10.0.0.2:26379,[::1]:26380', REDIS_SENTINEL_NAME: 'mymaster' }))
  t.ok(enabledPaths(sentinel).includes('cluster mode on the Redis primary "mymaster" of the sentinels 10.0.0.1:26379, 10.0.0.2:26379, [::1]:26380 (keys under bridge:)'))
  const cluster = loadConfig(testEnv({ REDIS_CLUSTER_NODES: 'redis-1:7000,redis-2:7000', BRIDGE_REDIS_PREFIX: 'app:' }))
  t.ok(enabledPaths(cluster).includes('cluster mode on the Redis Cluster of redis-1:7000, redis-2:7000 (keys under app:)'))
})

t.test('the start line says how the bridge logs in to Sentinel and Cluster deployments, never the password', async (t) => {
  const sentinel = loadConfig(testEnv({
    REDIS_SENTINELS: '10.0.0.1:26379',
    REDIS_SENTINEL_NAME: 'mymaster',
    REDIS_USERNAME: 'bridge',
    REDIS_PASSWORD: 'data-password',
    REDIS_SENTINEL_PASSWORD: 'sentinel-password',
    REDIS_TLS: 'on'
  }))
  const sentinelPaths = enabledPaths(sentinel)
  t.ok(sentinelPaths.includes('cluster mode on the Redis primary "mymaster" with a password as bridge over TLS of the sentinels 10.0.0.1:26379 with a password over TLS (keys under bridge:)'))
  const cluster = loadConfig(testEnv({ REDIS_CLUSTER_NODES: 'redis-1:7000', REDIS_PASSWORD: 'data-password' }))
  const clusterPaths = enabledPaths(cluster)
  t.ok(clusterPaths.includes('cluster mode on the Redis Cluster of redis-1:7000 with a password (keys under bridge:)'))
  const tlsOnly = loadConfig(testEnv({ REDIS_CLUSTER_NODES: 'redis-1:7000', REDIS_TLS: 'on' }))
  t.ok(enabledPaths(tlsOnly).includes('cluster mode on the Redis Cluster of redis-1:7000 over TLS (keys under bridge:)'))
  t.notMatch([...sentinelPaths, ...clusterPaths].join(), /data-password|sentinel-password/, 'no password')
})
