// Laravel's real broadcasting (Debian's Laravel 8.83, Predis, RedisBroadcaster) publishing
// App\Events through the bridge: public, private and presence channels, broadcastAs() and
// broadcastWith(), and toOthers(), received by room subscribers of room R (the private
// channel R) and by Echo. (Echo receiving the same broadcasts with tokens: echo.test.ts.)
import t from 'tap'
import { connectClient, metricValue, recordEvents, startBridge, subscribe, type TestClient } from '../../helpers/bridge.ts'
import { answerTo, connectEcho, recordAll, socketOf } from '../../helpers/echo.ts'
import { laravelBroadcast, laravelMissing, laravelRedisEnv } from '../../helpers/laravel-redis.ts'

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
  // Section 3's room chat.3 is the private channel chat.3; rooms named like the public and
  // presence channels are other audiences. Echo (open mode) listens to those channels.
  const client = await connectClient(t, url)
  for (const room of ['chat.3', 'orders.7', 'room.1', 'presence-room.2']) await subscribe(client, room)
  const echo = await connectEcho(t, url)
  echo.channel('orders.7')
  echo.join('room.1')
  echo.join('room.2')
  for (const channel of ['orders.7', 'presence-room.1', 'presence-room.2']) t.equal(await answerTo(echo, channel), 'ok')
  const seen = recordEvents(client)
  const echoSeen = recordAll(echo)
  const echoGotAll = new Promise<void>((resolve) => socketOf(echo).onAny(() => {
    if (echoSeen.filter(({ event }) => event.startsWith('App')).length === 3) resolve()
  }))
  const sent = nextAny(client)

  await laravelBroadcast(env.BRIDGE_LARAVEL_REDIS_PREFIX, [
    { event: 'OrderShipped', args: [{ id: 7, total: '9.90', items: [{ sku: 'A-1' }] }] },
    { event: 'MessageSent', args: [3, { id: 12, text: 'Привет!' }] },
    { event: 'RoomUpdated', args: [[1, 2], 'news'] }
  ])
  // Laravel 8.83 leaves `socket` in the data: the bridge takes it out.
  t.same(await sent, { event: 'message.sent', data: { message: { id: 12, text: 'Привет!' } } }, 'room chat.3: broadcastAs, broadcastWith')
  await echoGotAll
  t.same(echoSeen.filter(({ event }) => event.startsWith('App')), [
    { event: 'App\\Events\\OrderShipped', args: ['orders.7', { order: { id: 7, total: '9.90', items: [{ sku: 'A-1' }] } }] },
    { event: 'App\\Events\\RoomUpdated', args: ['presence-room.1', { roomIds: [1, 2], topic: 'news' }] },
    { event: 'App\\Events\\RoomUpdated', args: ['presence-room.2', { roomIds: [1, 2], topic: 'news' }] }
  ], 'Echo: the public and presence channels, class names as event names')
  // A last broadcast to room chat.3: anything of the others for the room would have come first.
  const marker = nextAny(client)
  await laravelBroadcast(env.BRIDGE_LARAVEL_REDIS_PREFIX, [{ event: 'MessageSent', args: [3, { id: 13 }] }])
  await marker
  t.same(seen.map(({ event }) => event), ['message.sent', 'message.sent'], 'the rooms named like the public and presence channels got nothing')

  const metrics = await (await fetch(`${url}/metrics`)).text()
  t.equal(metricValue(metrics, 'bridge_events_published_total{event="message.sent",source="laravel-redis"}'), 2)
  t.equal(metricValue(metrics, 'bridge_events_published_total{event="App\\\\Events\\\\RoomUpdated",source="laravel-redis"}'), 2)
  t.equal(metricValue(metrics, 'bridge_laravel_redis_messages_total{outcome="published"}'), 5)
})

t.test('toOthers(): the socket of X-Socket-ID does not get the event, everyone else does', { skip }, async (t) => {
  const env = laravelRedisEnv()
  const { url } = await startBridge(t, env)
  const sender = await connectClient(t, url)
  const other = await connectClient(t, url)
  // Room chat.8 is MessageSent's private channel chat.8.
  await subscribe(sender, 'chat.8')
  await subscribe(other, 'chat.8')
  const seenBySender = recordEvents(sender)

  const toOther = nextAny(other)
  await laravelBroadcast(env.BRIDGE_LARAVEL_REDIS_PREFIX, [{ event: 'MessageSent', args: [8, { id: 1 }], socket: sender.id }])
  t.same(await toOther, { event: 'message.sent', data: { message: { id: 1 } } })

  // The next broadcast, to everyone, reaching the sender first-and-only proves the first one skipped it.
  const marker = nextAny(sender)
  await laravelBroadcast(env.BRIDGE_LARAVEL_REDIS_PREFIX, [{ event: 'MessageSent', args: [8, { id: 2 }] }])
  await marker
  t.same(seenBySender.map(({ data }) => data), [{ message: { id: 2 } }], 'the sender got only the broadcast to everyone')
})
