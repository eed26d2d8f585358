// Laravel's broadcasters on a two-node cluster: a Pusher publish on one node reaches the
// other, the Pusher read side counts both, and a redis-broadcaster message, received by both
// nodes, reaches every socket exactly once, toOthers() included. The sockets are room
// subscribers of room R, which is the channel private-R.
import t from 'tap'
import { connectClient, metricOf, recordEvents, startBridge, subscribe, type TestClient, waitFor } from '../../helpers/bridge.ts'
import { laravelRedisEnv, publisherFor } from '../../helpers/laravel-redis.ts'
import { pusherClient, pusherEnv } from '../../helpers/pusher.ts'
import { clusterEnv } from '../../helpers/redis.ts'

// Several bridges, Redis servers or PHP runs: more than the default 60 s on a machine busy with other suites.
t.setTimeout(180_000)

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

function untilSeen (socket: TestClient, seen: unknown[], count: number, ms = 15_000): Promise<void> {
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

t.test('a Pusher publish on one node reaches the subscribers of both; the read side counts both', async (t) => {
  const env = { ...clusterEnv(t), ...pusherEnv() }
  const a = await startBridge(t, env)
  const b = await startBridge(t, env)
  const onA = await connectClient(t, a.url)
  const onB = await connectClient(t, b.url)
  const alsoOnB = await connectClient(t, b.url)
  await subscribe(onA, 'orders.1')
  await subscribe(onB, 'orders.1')
  await subscribe(alsoOnB, 'orders.2')

  const toA = nextAny(onA)
  const toB = nextAny(onB)
  const response = await pusherClient(a.url).trigger('private-orders.1', 'OrderShipped', { id: 1 })
  t.equal(response.status, 200)
  t.same(await toB, { event: 'OrderShipped', data: { id: 1 } }, 'the other node delivers it')
  t.same(await toA, { event: 'OrderShipped', data: { id: 1 } }, 'and the publishing one')

  const pusherOnB = pusherClient(b.url)
  const channel = await pusherOnB.get({ path: '/channels/private-orders.1', params: { info: 'subscription_count' } })
  t.same(await channel.json(), { occupied: true, subscription_count: 2 }, 'a socket on each node')
  const channels = await pusherClient(a.url).get({ path: '/channels', params: { filter_by_prefix: 'private-orders.', info: 'subscription_count' } })
  t.same(await channels.json(), { channels: { 'private-orders.1': { subscription_count: 2 }, 'private-orders.2': { subscription_count: 1 } } })
})

t.test('a redis-broadcaster message reaches every socket exactly once with two bridges subscribed', async (t) => {
  const laravel = laravelRedisEnv()
  const env = { ...clusterEnv(t), ...laravel }
  const a = await startBridge(t, env)
  const b = await startBridge(t, env)
  const publish = await publisherFor(t, laravel.BRIDGE_LARAVEL_REDIS_PREFIX)
  const sockets = await Promise.all([connectClient(t, a.url), connectClient(t, a.url), connectClient(t, b.url), connectClient(t, b.url)])
  for (const socket of sockets) await subscribe(socket, 'chat.1')
  const seen = sockets.map((socket) => recordEvents(socket))

  // Distinct messages, and identical ones repeated (a typing indicator sent three times).
  const messages = [
    { event: 'MessageSent', data: { id: 1 }, socket: null },
    { event: 'Typing', data: { user: 7 }, socket: null },
    { event: 'Typing', data: { user: 7 }, socket: null },
    { event: 'MessageSent', data: { id: 2 }, socket: null },
    { event: 'Typing', data: { user: 7 }, socket: null }
  ]
  for (const message of messages) t.equal(await publish('private-chat.1', message), 2, 'both bridges receive it from Redis')
  await Promise.all(sockets.map((socket, index) => untilSeen(socket, seen[index] as unknown[], messages.length)))

  // Every message decided on both nodes: claimed and published by one, left to it by the other.
  const decided = async (url: string) => await metricOf(url, 'bridge_laravel_redis_messages_total{outcome="published"}') +
    await metricOf(url, 'bridge_laravel_redis_messages_total{outcome="delivered_elsewhere"}')
  await waitFor(async () => await decided(a.url) === messages.length && await decided(b.url) === messages.length, 'both nodes to decide every message')
  const published = await metricOf(a.url, 'bridge_laravel_redis_messages_total{outcome="published"}') +
    await metricOf(b.url, 'bridge_laravel_redis_messages_total{outcome="published"}')
  t.equal(published, messages.length, 'each message was published by exactly one node')

  // A last message, after which nothing more can be on its way.
  const markers = sockets.map((socket) => nextAny(socket))
  await publish('private-chat.1', { event: 'Marker', data: {}, socket: null })
  await Promise.all(markers)
  for (const [index, events] of seen.entries()) {
    t.same(events.map(({ event, data }) => [event, data]), [
      ['MessageSent', { id: 1 }],
      ['Typing', { user: 7 }],
      ['Typing', { user: 7 }],
      ['MessageSent', { id: 2 }],
      ['Typing', { user: 7 }],
      ['Marker', {}]
    ], `socket ${index} (node ${index < 2 ? 'A' : 'B'}) got each once, in order`)
  }
})

t.test('toOthers() across the cluster: the socket Laravel names is skipped on whichever node publishes', async (t) => {
  const laravel = laravelRedisEnv()
  const env = { ...clusterEnv(t), ...laravel }
  const a = await startBridge(t, env)
  const b = await startBridge(t, env)
  const publish = await publisherFor(t, laravel.BRIDGE_LARAVEL_REDIS_PREFIX)
  const sender = await connectClient(t, b.url)
  const onA = await connectClient(t, a.url)
  const onB = await connectClient(t, b.url)
  for (const socket of [sender, onA, onB]) await subscribe(socket, 'chat.2')
  const seenBySender = recordEvents(sender)

  for (let i = 0; i < 4; i++) {
    const toA = nextAny(onA)
    const toB = nextAny(onB)
    await publish('private-chat.2', { event: 'MessageSent', data: { i, socket: sender.id }, socket: sender.id })
    t.same(await toA, { event: 'MessageSent', data: { i } })
    t.same(await toB, { event: 'MessageSent', data: { i } })
  }
  const marker = nextAny(sender)
  await publish('private-chat.2', { event: 'Marker', data: {}, socket: null })
  await marker
  t.same(seenBySender.map(({ event }) => event), ['Marker'], 'the sender got none of its own')
})
