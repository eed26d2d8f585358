// The watch for broadcasts under another prefix: it ends at the first broadcast under the prefix,
// and a Redis that refuses MONITOR is said once, at info.
import t from 'tap'
import { buildApp, captureLogs, waitFor } from '../../../helpers/bridge.ts'
import { privateRedis, redisClient } from '../../../helpers/redis.ts'
import { publisherFor } from '../../../helpers/laravel-redis.ts'

t.setTimeout(120_000)

const watchers = async (url: string, t: Parameters<typeof redisClient>[0]) =>
  (await (await redisClient(t, url)).clientList()).filter((client) => client.name.startsWith('bridge:laravel-prefix-watch:'))

t.test('a broadcast under the prefix ends the watch; nothing is said', async (t) => {
  const redis = await privateRedis(t)
  const logs = captureLogs()
  await buildApp(t, { BRIDGE_LARAVEL_REDIS_URL: redis.url, BRIDGE_LARAVEL_REDIS_PREFIX: 'shop_database_', LOG_LEVEL: 'info' }, { logStream: logs.stream })
  await waitFor(async () => (await watchers(redis.url, t)).length === 1, 'the watch to start')
  const publish = await publisherFor(t, 'shop_database_', redis.url)
  await publish('private-orders.1', { event: 'OrderShipped', data: {}, socket: null })
  await waitFor(async () => (await watchers(redis.url, t)).length === 0, 'the watch to end')
  // Another prefix afterwards: the watch is over, the prefix was right.
  await (await publisherFor(t, 'other_', redis.url))('private-orders.1', { event: 'OrderShipped', data: {}, socket: null })
  await new Promise((resolve) => setTimeout(resolve, 1500))
  t.same(logs.lines.filter((line) => String(line.msg).includes('another prefix')), [])
})

t.test('a Redis user without MONITOR: said once at info, broadcasts still received', async (t) => {
  const redis = await privateRedis(t)
  const admin = await redisClient(t, redis.url)
  await admin.sendCommand(['ACL', 'SETUSER', 'app', 'on', '>app-password-0123', '~*', '&*', '+@all', '-monitor'])
  const logs = captureLogs()
  const url = redis.url.replace('redis://', 'redis://app:app-password-0123@')
  await buildApp(t, { BRIDGE_LARAVEL_REDIS_URL: url, BRIDGE_LARAVEL_REDIS_PREFIX: 'shop_database_', LOG_LEVEL: 'info' }, { logStream: logs.stream })
  const line = await logs.line('cannot watch Laravel\'s Redis for broadcasts under another prefix (MONITOR refused, or Redis unreachable at start); a wrong BRIDGE_LARAVEL_REDIS_PREFIX would go unnoticed')
  t.match(line, { level: 30, reason: /NOPERM|monitor/i })
  t.notMatch(JSON.stringify(logs.lines), /app-password/, 'the password is never logged')
})
