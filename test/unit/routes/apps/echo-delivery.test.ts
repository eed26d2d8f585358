// The Pusher HTTP API received by Laravel Echo (socket.io connector), as docs/echo.md and docs/broadcasting.md describe it
// describe it together: public, private and presence channels (tokens mode: the connection's
// JWT allows the channels), toOthers() with Echo's own socket id, and the read side's members.
// Needs Echo's socket protocol (`subscribe { channel }`) and Pusher-shaped socket ids.
import t from 'tap'
import { secrets, socketToken, startBridge } from '../../../helpers/bridge.ts'
import { connectEcho, nextEchoEvent, untilSubscribed } from '../../../helpers/echo.ts'
import { pusherClient, pusherEnv } from '../../../helpers/pusher.ts'

const env = pusherEnv({ BRIDGE_JWT_SECRET: secrets.jwtSecret })

t.test('Echo listens to what the Pusher SDK triggers: public, private and presence channels', async (t) => {
  const { url } = await startBridge(t, env)
  const pusher = pusherClient(url)
  const echo = await connectEcho(t, url, { bearerToken: socketToken({ sub: '7', rooms: ['orders.*', 'private-orders.*', 'presence-room.*'] }) })

  const publicChannel = echo.channel('orders.1')
  const shipped = nextEchoEvent(publicChannel, 'OrderShipped')
  const renamed = nextEchoEvent(publicChannel, '.order.shipped')
  const privateChannel = echo.private('orders.2')
  const paid = nextEchoEvent(privateChannel, '.order.paid')
  const members = new Promise<unknown[]>((resolve) => echo.join('room.1').here(resolve))
  t.same(await members, [{}], 'the presence channel\'s members: this user, with the token\'s (empty) user_info')
  await untilSubscribed(pusher, 'orders.1', 1)
  await untilSubscribed(pusher, 'private-orders.2', 1)

  await pusher.trigger('orders.1', 'App\\Events\\OrderShipped', { order: { id: 1 } })
  t.same(await shipped, { order: { id: 1 } }, 'a class name, listened to without the namespace')
  await pusher.trigger('orders.1', 'order.shipped', { order: { id: 1 } })
  t.same(await renamed, { order: { id: 1 } }, 'a broadcastAs() name, listened to with a leading dot')
  await pusher.trigger('private-orders.2', 'order.paid', { total: 5 })
  t.same(await paid, { total: 5 })

  const presence = echo.join('room.1')
  const update = nextEchoEvent(presence, '.topic')
  await pusher.triggerBatch([{ channel: 'presence-room.1', name: 'topic', data: { topic: 'news' } }])
  t.same(await update, { topic: 'news' })

  const users = await pusher.get({ path: '/channels/presence-room.1/users' })
  t.same(await users.json(), { users: [{ id: '7' }] })
  const info = await pusher.get({ path: '/channels/presence-room.1', params: { info: 'user_count,subscription_count' } })
  t.same(await info.json(), { occupied: true, user_count: 1, subscription_count: 1 })
  const listed = await pusher.get({ path: '/channels', params: { filter_by_prefix: 'presence-', info: 'user_count' } })
  t.same(await listed.json(), { channels: { 'presence-room.1': { user_count: 1 } } })
})

t.test('toOthers(): the socket_id Echo reports does not get the event, other Echo clients do', async (t) => {
  const { url } = await startBridge(t, env)
  const pusher = pusherClient(url)
  const token = socketToken({ sub: '8', rooms: ['chat.*'] })
  const sender = await connectEcho(t, url, { bearerToken: token })
  const other = await connectEcho(t, url, { bearerToken: token })
  const socketId = sender.socketId()
  t.match(socketId, /^\d+\.\d+$/, 'Echo\'s socket id has Pusher\'s shape, as Laravel requires')

  const received: unknown[] = []
  sender.channel('chat.1').listen('.message', (data: unknown) => received.push(data))
  const toOther = nextEchoEvent(other.channel('chat.1'), '.message')
  await untilSubscribed(pusher, 'chat.1', 2)
  await pusher.trigger('chat.1', 'message', { text: 'mine' }, { socket_id: socketId as string })
  t.same(await toOther, { text: 'mine' })

  const marker = nextEchoEvent(sender.channel('chat.1'), '.marker')
  await pusher.trigger('chat.1', 'marker', {})
  await marker
  t.same(received, [], 'the sender did not get its own message')
})
