// Laravel's real broadcasting (Debian's Laravel 8.83, RedisBroadcaster) received by Laravel
// Echo: public, private and presence channels, broadcastAs(), and toOthers() with the socket id
// Echo sends as X-Socket-Id. Needs Echo's socket protocol and Pusher-shaped socket ids.
import t from 'tap'
import { secrets, socketToken, startBridge } from '../../helpers/bridge.ts'
import { connectEcho, nextEchoEvent, untilSubscribed } from '../../helpers/echo.ts'
import { laravelBroadcast, laravelMissing, laravelRedisEnv } from '../../helpers/laravel-redis.ts'
import { pusherClient, pusherEnv } from '../../helpers/pusher.ts'

// Several bridges, Redis servers or PHP runs: more than the default 60 s on a machine busy with other suites.
t.setTimeout(180_000)

const skip = laravelMissing()
if (skip !== false) t.comment(`skipping the Laravel broadcasting tests: ${skip}`)

t.test('broadcast(new App\\Events\\…) reaches Echo on public, private and presence channels', { skip }, async (t) => {
  const laravel = laravelRedisEnv()
  const { url } = await startBridge(t, { ...laravel, ...pusherEnv({ BRIDGE_JWT_SECRET: secrets.jwtSecret }) })
  const echo = await connectEcho(t, url, { bearerToken: socketToken({ sub: '3', rooms: ['orders.*', 'private-chat.*', 'presence-room.*'] }) })
  const shipped = nextEchoEvent(echo.channel('orders.7'), 'OrderShipped')
  const sent = nextEchoEvent(echo.private('chat.3'), '.message.sent')
  await new Promise((resolve) => echo.join('room.1').here(resolve))
  const updated = nextEchoEvent(echo.join('room.1'), 'RoomUpdated')
  const pusher = pusherClient(url)
  await untilSubscribed(pusher, 'orders.7', 1)
  await untilSubscribed(pusher, 'private-chat.3', 1)

  await laravelBroadcast(laravel.BRIDGE_LARAVEL_REDIS_PREFIX, [
    { event: 'OrderShipped', args: [{ id: 7 }] },
    { event: 'MessageSent', args: [3, { text: 'hi' }] },
    { event: 'RoomUpdated', args: [[1], 'news'] }
  ])
  t.same(await shipped, { order: { id: 7 } })
  t.same(await sent, { message: { text: 'hi' } })
  t.same(await updated, { roomIds: [1], topic: 'news' })
})

t.test('->toOthers() with the X-Socket-Id Echo sends: that Echo does not get it, the others do', { skip }, async (t) => {
  const laravel = laravelRedisEnv()
  const { url } = await startBridge(t, { ...laravel, ...pusherEnv({ BRIDGE_JWT_SECRET: secrets.jwtSecret }) })
  const token = socketToken({ sub: '4', rooms: ['orders.*'] })
  const sender = await connectEcho(t, url, { bearerToken: token })
  const other = await connectEcho(t, url, { bearerToken: token })
  const received: unknown[] = []
  sender.channel('orders.9').listen('OrderShipped', (data: unknown) => received.push(data))
  const toOther = nextEchoEvent(other.channel('orders.9'), 'OrderShipped')
  await untilSubscribed(pusherClient(url), 'orders.9', 2)

  await laravelBroadcast(laravel.BRIDGE_LARAVEL_REDIS_PREFIX, [{ event: 'OrderShipped', args: [{ id: 9 }], socket: sender.socketId() as string }])
  t.same(await toOther, { order: { id: 9 } })
  const marker = nextEchoEvent(sender.channel('orders.9'), '.marker')
  await pusherClient(url).trigger('orders.9', 'marker', {})
  await marker
  t.same(received, [], 'the sender did not get its own')
})
