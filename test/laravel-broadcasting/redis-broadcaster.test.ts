// Laravel's real broadcasting (Debian's Laravel 8.83, Predis, RedisBroadcaster) publishing
// App\Events through the bridge: public, private and presence channels, broadcastAs() and
// broadcastWith(), and toOthers(), received by section 3 subscribers of the channel's room.
// (Echo receiving the same broadcasts: echo.test.ts.)
import t from 'tap'
import { connectClient, metricValue, recordEvents, startBridge, subscribe, type TestClient } from '../helper.ts'
import { laravelBroadcast, laravelMissing, laravelRedisEnv } from '../laravel-redis.ts'

// Several bridges, Redis servers or PHP runs: more than the default 60 s on a machine busy with other suites.
t.setTimeout(180_000)

const skip = laravelMissing()
if (skip !== false) t.comment(`skipping the Laravel broadcasting tests: ${skip}`)

/** Resolves with the next (event, data) the socket receives. */
function nextAny (socket: TestClient, ms = 10_000): Promise<{ event: string, data: unknown }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no event within ${ms} ms`)), ms)
    const listener = (event: string, data: unknown) => {
      clearTimeout(timer)
      socket.offAny(listener)
      resolve({ event, data })
    }
    socket.onAny(listener)
  })
}

t.test('public, private and presence channels; class names, broadcastAs and broadcastWith', { skip }, async (t) => {
  const env = laravelRedisEnv()
  const { url } = await startBridge(t, env)
  const client = await connectClient(t, url)
  for (const room of ['orders.7', 'private-chat.3', 'presence-room.1', 'presence-room.2']) await subscribe(client, room)
  const seen = recordEvents(client)
  const all = new Promise<void>((resolve) => client.onAny(() => { if (seen.length === 4) resolve() }))

  await laravelBroadcast(env.BRIDGE_LARAVEL_REDIS_PREFIX, [
    { event: 'OrderShipped', args: [{ id: 7, total: '9.90', items: [{ sku: 'A-1' }] }] },
    { event: 'MessageSent', args: [3, { id: 12, text: 'Привет!' }] },
    { event: 'RoomUpdated', args: [[1, 2], 'news'] }
  ])
  await all
  t.same(seen, [
    // Laravel 8.83 leaves `socket` in the data: the bridge takes it out.
    { event: 'App\\Events\\OrderShipped', data: { order: { id: 7, total: '9.90', items: [{ sku: 'A-1' }] } } },
    { event: 'message.sent', data: { message: { id: 12, text: 'Привет!' } } },
    { event: 'App\\Events\\RoomUpdated', data: { roomIds: [1, 2], topic: 'news' } },
    { event: 'App\\Events\\RoomUpdated', data: { roomIds: [1, 2], topic: 'news' } }
  ])

  const metrics = await (await fetch(`${url}/metrics`)).text()
  t.equal(metricValue(metrics, 'bridge_events_published_total{event="message.sent",source="laravel-redis"}'), 1)
  t.equal(metricValue(metrics, 'bridge_events_published_total{event="App\\\\Events\\\\RoomUpdated",source="laravel-redis"}'), 2)
  t.equal(metricValue(metrics, 'bridge_laravel_redis_messages_total{outcome="published"}'), 4)
})

t.test('toOthers(): the socket of X-Socket-ID does not get the event, everyone else does', { skip }, async (t) => {
  const env = laravelRedisEnv()
  const { url } = await startBridge(t, env)
  const sender = await connectClient(t, url)
  const other = await connectClient(t, url)
  await subscribe(sender, 'orders.8')
  await subscribe(other, 'orders.8')
  const seenBySender = recordEvents(sender)

  const toOther = nextAny(other)
  await laravelBroadcast(env.BRIDGE_LARAVEL_REDIS_PREFIX, [{ event: 'OrderShipped', args: [{ id: 8 }], socket: sender.id }])
  t.same(await toOther, { event: 'App\\Events\\OrderShipped', data: { order: { id: 8 } } })

  // The next broadcast, to everyone, reaching the sender first-and-only proves the first one skipped it.
  const marker = nextAny(sender)
  await laravelBroadcast(env.BRIDGE_LARAVEL_REDIS_PREFIX, [{ event: 'OrderShipped', args: [{ id: 8, done: true }] }])
  await marker
  t.same(seenBySender.map(({ data }) => data), [{ order: { id: 8, done: true } }], 'the sender got only the broadcast to everyone')
})
