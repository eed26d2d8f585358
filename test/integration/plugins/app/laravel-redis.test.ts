// The redis broadcaster's subscriber on messages published as Laravel publishes them, and on
// what Laravel never sends: each Laravel prefix variant, repeats of one message, malformed
// messages (counted, logged without their content, nothing crashes) and a Redis that goes away.
// The receivers are room subscribers of room R: broadcasts on private-R reach them.
import t from 'tap'
import { captureLogs, connectClient, metricValue, nextEvent, recordEvents, startBridge, subscribe, type TestClient, waitFor } from '../../../helpers/bridge.ts'
import { privateRedis } from '../../../helpers/redis.ts'
import { laravelRedisEnv, publisherFor } from '../../../helpers/laravel-redis.ts'

// Several bridges, Redis servers or PHP runs: more than the default 60 s on a machine busy with other suites.
t.setTimeout(180_000)

/** Resolves once the socket has received `count` events (in `seen`). */
function untilSeen (socket: TestClient, seen: unknown[], count: number, ms = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${seen.length} of ${count} events within ${ms} ms`)), ms)
    const check = () => {
      if (seen.length < count) return
      clearTimeout(timer)
      socket.offAny(check)
      resolve()
    }
    socket.onAny(check)
    check()
  })
}

async function scrape (url: string): Promise<string> {
  return await (await fetch(`${url}/metrics`)).text()
}

t.test('a message as Laravel 8.83 publishes it: socket taken out of data, toOthers honoured', async (t) => {
  const env = laravelRedisEnv()
  const { url } = await startBridge(t, env)
  const publish = await publisherFor(t, env.BRIDGE_LARAVEL_REDIS_PREFIX)
  const sender = await connectClient(t, url)
  const other = await connectClient(t, url)
  await subscribe(sender, 'orders.1')
  await subscribe(other, 'orders.1')
  const seenBySender = recordEvents(sender)
  const seenByOther = recordEvents(other)

  t.equal(await publish('private-orders.1', { event: 'OrderShipped', data: { order: 1, socket: sender.id }, socket: sender.id }), 1, 'one subscriber on Redis: the bridge')
  // Laravel 9 and later: `socket` only at the top.
  await publish('private-orders.1', { event: 'OrderShipped', data: { order: 2 }, socket: null })
  // An empty payload is `[]` in PHP's JSON.
  await publish('private-orders.1', { event: 'Ping', data: [] })
  await untilSeen(other, seenByOther, 3)
  await untilSeen(sender, seenBySender, 2)
  t.same(seenByOther, [
    { event: 'OrderShipped', data: { order: 1 } },
    { event: 'OrderShipped', data: { order: 2 } },
    { event: 'Ping', data: [] }
  ])
  t.same(seenBySender, [{ event: 'OrderShipped', data: { order: 2 } }, { event: 'Ping', data: [] }], 'the sender skipped its own')
})

t.test('identical messages are each delivered: repeats are numbered, and on one node every claim wins', async (t) => {
  const env = laravelRedisEnv()
  const { url } = await startBridge(t, env)
  const publish = await publisherFor(t, env.BRIDGE_LARAVEL_REDIS_PREFIX)
  const client = await connectClient(t, url)
  await subscribe(client, 'typing')
  const seen = recordEvents(client)
  const message = { event: 'Typing', data: { user: 1 }, socket: null }
  for (let i = 0; i < 5; i++) await publish('private-typing', message)
  await untilSeen(client, seen, 5)
  t.equal(seen.length, 5)
  t.equal(metricValue(await scrape(url), 'bridge_laravel_redis_messages_total{outcome="published"}'), 5)
})

t.test('the prefix variants of Laravel versions, and no prefix at all', async (t) => {
  // A Redis of this test's own: an empty prefix subscribes to every channel there is.
  const redis = await privateRedis(t)
  for (const prefix of ['laravel_database_', 'my_app_database_', 'my-app-database-', '']) {
    t.test(prefix === '' ? 'no prefix' : prefix, async (t) => {
      const { url } = await startBridge(t, { BRIDGE_LARAVEL_REDIS_URL: redis.url, BRIDGE_LARAVEL_REDIS_PREFIX: prefix })
      const publish = await publisherFor(t, prefix, redis.url)
      const client = await connectClient(t, url)
      await subscribe(client, 'orders.3')
      const received = nextEvent(client, 'Shipped' as never)
      await publish('private-orders.3', { event: 'Shipped', data: { prefix }, socket: null })
      t.same(await received, { prefix })
    })
  }
})

t.test('malformed messages are counted by reason and logged without their content; nothing crashes', async (t) => {
  const logs = captureLogs()
  const env = laravelRedisEnv()
  const { url } = await startBridge(t, { ...env, LOG_LEVEL: 'info', BRIDGE_BODY_LIMIT: '2048' }, { logStream: logs.stream })
  const publish = await publisherFor(t, env.BRIDGE_LARAVEL_REDIS_PREFIX)
  const client = await connectClient(t, url)
  await subscribe(client, 'orders.4')
  let disconnected = false
  client.on('disconnect', () => { disconnected = true })
  const seen = recordEvents(client)

  const deep = Array.from({ length: 40 }).reduce<unknown>((inner) => ({ inner }), {})
  const malformed: Array<[string, string, unknown]> = [
    ['not_json', 'private-orders.4', 'secret-content {not json'],
    ['not_json', 'private-orders.4', '[1,2,3]'],
    ['not_json', 'private-orders.4', 'null'],
    ['no_event', 'private-orders.4', { data: { secret: 'content' } }],
    ['no_event', 'private-orders.4', { event: 42, data: {} }],
    ['no_event', 'private-orders.4', { event: '', data: {} }],
    ['no_event', 'private-orders.4', { event: 'e'.repeat(201), data: {} }],
    ['bad_channel', 'orders 4', { event: 'Shipped', data: {} }],
    ['bad_channel', 'x'.repeat(165), { event: 'Shipped', data: {} }],
    ['bad_channel', '', { event: 'Shipped', data: {} }],
    ['bad_socket', 'private-orders.4', { event: 'Shipped', data: {}, socket: 'room/private-orders.4' }],
    ['bad_socket', 'private-orders.4', { event: 'Shipped', data: {}, socket: 12 }],
    ['too_large', 'private-orders.4', { event: 'Shipped', data: { text: 'x'.repeat(3000) } }],
    ['too_deep', 'private-orders.4', { event: 'Shipped', data: deep }]
  ]
  for (const [, channel, message] of malformed) await publish(channel, message)
  const good = nextEvent(client, 'Shipped' as never)
  await publish('private-orders.4', { event: 'Shipped', data: { ok: true }, socket: null })
  t.same(await good, { ok: true }, 'a good message after them is delivered')
  t.same(seen.map(({ event }) => event), ['Shipped'], 'nothing malformed was delivered')

  const metrics = await scrape(url)
  const byReason = new Map<string, number>()
  for (const [reason] of malformed) byReason.set(reason, (byReason.get(reason) ?? 0) + 1)
  for (const [reason, count] of byReason) {
    t.equal(metricValue(metrics, `bridge_laravel_redis_malformed_total{reason="${reason}"}`), count, reason)
  }
  t.equal(metricValue(metrics, 'bridge_laravel_redis_messages_total{outcome="malformed"}'), malformed.length)

  const dropped = logs.lines.filter((line) => line.msg === 'Laravel broadcast dropped')
  t.equal(dropped.length, 1, 'one line for the burst, not one per message')
  t.match(dropped[0], { level: 40, reason: 'not_json', channel: 'private-orders.4' })
  t.notOk(logs.lines.some((line) => JSON.stringify(line).includes('secret')), 'no message content in the log')
  t.notOk(disconnected)
  t.equal((await fetch(`${url}/health`)).status, 200)
})

t.test('Laravel\'s Redis going away: /ready 503 naming it, one line each way, receiving again once back', async (t) => {
  const redis = await privateRedis(t)
  const logs = captureLogs()
  const prefix = 'laravel_database_'
  const { url } = await startBridge(t, { BRIDGE_LARAVEL_REDIS_URL: redis.url, BRIDGE_LARAVEL_REDIS_PREFIX: prefix, LOG_LEVEL: 'info' }, { logStream: logs.stream })
  const client = await connectClient(t, url)
  await subscribe(client, 'orders.5')
  t.equal((await fetch(`${url}/ready`)).status, 200)

  await redis.stop()
  await waitFor(async () => (await fetch(`${url}/ready`)).status === 503, '/ready to answer 503')
  const notReady = await (await fetch(`${url}/ready`)).json() as { message: string }
  t.match(notReady.message, /Laravel's Redis unreachable/)
  await logs.line('Laravel\'s Redis unreachable: broadcasts are not received and /ready answers 503 until it is back')
  t.equal((await fetch(`${url}/health`)).status, 200, 'the process is alive')

  await redis.start()
  // Pub/sub keeps nothing: the reconnect is told as possible loss.
  t.match(await logs.line('Laravel\'s Redis reachable again: receiving broadcasts; those published while the subscription was down are lost'), { level: 40 })
  await waitFor(async () => (await fetch(`${url}/ready`)).status === 200, '/ready to answer 200 again')
  const publish = await publisherFor(t, prefix, redis.url)
  // Subscribed again once the connection is back: the message finds its subscriber.
  await waitFor(async () => (await publish('private-orders.5', { event: 'Probe', data: {} })) === 1, 'the bridge to subscribe again')
  const received = nextEvent(client, 'Back' as never)
  await publish('private-orders.5', { event: 'Back', data: { n: 1 } })
  t.same(await received, { n: 1 })
  t.equal(logs.lines.filter((line) => String(line.msg).startsWith('Laravel\'s Redis unreachable')).length, 1, 'one line when lost')
  t.equal(logs.lines.filter((line) => String(line.msg).startsWith('Laravel\'s Redis reachable again')).length, 1, 'one line when back')
})

t.test('closing the bridge leaves Laravel\'s Redis: nobody is subscribed any more', async (t) => {
  const redis = await privateRedis(t)
  const prefix = 'laravel_database_'
  const { fastify } = await startBridge(t, { BRIDGE_LARAVEL_REDIS_URL: redis.url, BRIDGE_LARAVEL_REDIS_PREFIX: prefix })
  const publish = await publisherFor(t, prefix, redis.url)
  t.equal(await publish('orders.6', { event: 'Probe', data: {} }), 1, 'subscribed while running')
  await fastify.close()
  t.equal(await publish('orders.6', { event: 'Probe', data: {} }), 0, 'gone once closed')
})
