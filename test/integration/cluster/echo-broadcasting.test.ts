// Laravel's broadcasters received by Laravel Echo on a two-node cluster: a Pusher publish on
// one node reaches Echo on the other, a redis-broadcaster message reaches Echo on both nodes
// once, and a presence member on one node is listed by the other. Needs Echo's socket protocol.
import t from 'tap'
import { secrets, socketToken, startBridge } from '../../helpers/bridge.ts'
import { connectEcho, nextEchoEvent, untilSubscribed } from '../../helpers/echo.ts'
import { laravelRedisEnv, publisherFor } from '../../helpers/laravel-redis.ts'
import { pusherClient, pusherEnv } from '../../helpers/pusher.ts'
import { clusterEnv } from '../../helpers/redis.ts'

// Several bridges, Redis servers or PHP runs: more than the default 60 s on a machine busy with other suites.
t.setTimeout(180_000)

t.test('Pusher on node A, Echo on node B; redis broadcasts once on both; members across nodes', async (t) => {
  const laravel = laravelRedisEnv()
  const env = { ...clusterEnv(t), ...laravel, ...pusherEnv({ BRIDGE_JWT_SECRET: secrets.jwtSecret }) }
  const a = await startBridge(t, env)
  const b = await startBridge(t, env)
  const token = socketToken({ sub: '5', rooms: ['orders.*', 'presence-room.*'] })
  const onA = await connectEcho(t, a.url, { bearerToken: token })
  const onB = await connectEcho(t, b.url, { bearerToken: token })
  const pusherOnA = pusherClient(a.url)

  const fromPusher = nextEchoEvent(onB.channel('orders.1'), '.shipped')
  await untilSubscribed(pusherOnA, 'orders.1', 1)
  await pusherOnA.trigger('orders.1', 'shipped', { id: 1 })
  t.same(await fromPusher, { id: 1 }, 'Echo on B got what was triggered on A')

  const receivedOnA: unknown[] = []
  const receivedOnB: unknown[] = []
  onA.channel('orders.2').listen('.typing', (data: unknown) => receivedOnA.push(data))
  onB.channel('orders.2').listen('.typing', (data: unknown) => receivedOnB.push(data))
  await untilSubscribed(pusherOnA, 'orders.2', 2)
  const publish = await publisherFor(t, laravel.BRIDGE_LARAVEL_REDIS_PREFIX)
  for (let i = 0; i < 3; i++) await publish('orders.2', { event: 'typing', data: { user: 5 }, socket: null })
  const markerOnA = nextEchoEvent(onA.channel('orders.2'), '.done')
  const markerOnB = nextEchoEvent(onB.channel('orders.2'), '.done')
  await publish('orders.2', { event: 'done', data: {}, socket: null })
  await Promise.all([markerOnA, markerOnB])
  t.same(receivedOnA, [{ user: 5 }, { user: 5 }, { user: 5 }], 'three identical broadcasts, three events on A')
  t.same(receivedOnB, [{ user: 5 }, { user: 5 }, { user: 5 }], 'and on B')

  await new Promise((resolve) => onB.join('room.1').here(resolve))
  const users = await pusherOnA.get({ path: '/channels/presence-room.1/users' })
  t.same(await users.json(), { users: [{ id: '5' }] }, 'node A lists the member on node B')
})
