// Bursts on Laravel's Redis: when Redis closes the bridge's subscription for its output
// buffer (client-output-buffer-limit pubsub), the reconnect is told as possible loss at
// `warn` and counted; and a burst in a cluster reaches each subscriber once.
import t from 'tap'
import { captureLogs, metricValue, startBridge, waitFor } from '../../../helpers/bridge.ts'
import { answerTo, connectEcho, nextOn, recordAll } from '../../../helpers/echo.ts'
import { clusterEnv, privateRedis, redisClient } from '../../../helpers/redis.ts'
import { laravelRedisEnv, publisherFor } from '../../../helpers/laravel-redis.ts'

t.setTimeout(180_000)

async function scrape (url: string): Promise<string> {
  return await (await fetch(`${url}/metrics`)).text()
}

/** The promise's value, or a failure naming what did not happen within `ms`. */
function within<T> (promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([promise, new Promise<never>((_resolve, reject) => setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms).unref())])
}

t.test('Redis closing the subscription for its output buffer: a warning naming the setting, counted, then receiving again', async (t) => {
  // Past 256 KB waiting for the bridge, Redis closes its subscription at once.
  const redis = await privateRedis(t, ['--client-output-buffer-limit', 'pubsub 256kb 0 0'])
  const prefix = 'laravel_database_'
  const logs = captureLogs()
  const { url } = await startBridge(t, { BRIDGE_LARAVEL_REDIS_URL: redis.url, BRIDGE_LARAVEL_REDIS_PREFIX: prefix, LOG_LEVEL: 'info' }, { logStream: logs.stream })
  const echo = await connectEcho(t, url)
  echo.channel('orders')
  t.equal(await answerTo(echo, 'orders'), 'ok')

  // 1 MB in one command (a script), before Redis writes any of it to the bridge.
  const message = JSON.stringify({ event: 'Shipped', data: { filler: 'x'.repeat(10_000) }, socket: null })
  const app = await redisClient(t, redis.url)
  await app.eval('for i = 1, 100 do redis.call("PUBLISH", ARGV[1], ARGV[2]) end', { arguments: [`${prefix}orders`, message] })

  const warning = await within(logs.line('Laravel\'s Redis reachable again: receiving broadcasts; those published while the subscription was down are lost'), 20_000, 'no warning')
  t.match(warning, { level: 40, hint: /client-output-buffer-limit pubsub/ }, 'at warn, naming the likely cause and the setting')
  t.equal(metricValue(await scrape(url), 'bridge_laravel_redis_resubscribes_total'), 1, 'counted')
  t.ok(metricValue(await scrape(url), 'bridge_laravel_redis_messages_total{outcome="published"}') < 100, 'part of the burst was lost')

  await waitFor(async () => (await fetch(`${url}/ready`)).status === 200, '/ready to answer 200 again')
  const publish = await publisherFor(t, prefix, redis.url)
  const back = nextOn(echo, 'Back', 'orders')
  await publish('orders', { event: 'Back', data: { n: 1 }, socket: null })
  t.same(await back, { n: 1 }, 'subscribed again')
})

t.test('a burst in a cluster reaches each subscriber once', async (t) => {
  const laravel = laravelRedisEnv()
  const env = { ...clusterEnv(t), ...laravel }
  const a = await startBridge(t, env)
  const b = await startBridge(t, env)
  const echo = await connectEcho(t, b.url)
  echo.channel('orders')
  t.equal(await answerTo(echo, 'orders'), 'ok')
  const seen = recordAll(echo)
  const publish = await publisherFor(t, laravel.BRIDGE_LARAVEL_REDIS_PREFIX)

  // Distinct orders, and every tenth message the same ping (numbered alike on both nodes).
  const burst: Array<Promise<number>> = []
  for (let n = 0; n < 2000; n++) {
    burst.push(publish('orders', n % 10 === 0 ? { event: 'Ping', data: {} } : { event: 'Shipped', data: { n } }))
  }
  await Promise.all(burst)
  await waitFor(() => seen.length >= 2000, 'the whole burst')
  const last = nextOn(echo, 'Last', 'orders')
  await publish('orders', { event: 'Last', data: {} })
  await last
  const shipped = seen.filter(({ event }) => event === 'Shipped').map(({ args }) => (args[1] as { n: number }).n)
  t.equal(shipped.length, 1800, 'each order once')
  t.equal(seen.filter(({ event }) => event === 'Ping').length, 200, 'each ping once')
  const published = metricValue(await scrape(a.url), 'bridge_laravel_redis_messages_total{outcome="published"}') +
    metricValue(await scrape(b.url), 'bridge_laravel_redis_messages_total{outcome="published"}')
  t.equal(published, 2001, 'published by one node each')
})
