// One channel space and one presence across the three protocols: pusher-js, Echo on socket.io and
// the bridge's rooms. Every publish path reaches each subscriber once in its own format; a user on
// two protocols is one member; client events and toOthers() cross protocols; counts see everyone.
import t, { type Test } from 'tap'
import { connectClient, nextEvent, recordEvents, signedHeaders, socketToken, startBridge, subscribe } from '../../../../helpers/bridge.ts'
import { answerTo, connectEcho, nextOn, publishSigned, recordAll, socketOf } from '../../../../helpers/echo.ts'
import { laravelRedisEnv, publisherFor } from '../../../../helpers/laravel-redis.ts'
import { pusherClient as pusherSdk, signedGet } from '../../../../helpers/pusher.ts'
import { connectPusher, nextOnChannel, pusherEnv, recordChannel, subscribed } from '../../../../helpers/pusher-js.ts'

t.setTimeout(180_000)

const rooms = ['chat.*', 'private-chat.*', 'presence-room.*']

/** One subscriber of `private-chat.1` on each protocol. */
async function threeProtocols (t: Test, env = {}) {
  const bridge = await startBridge(t, pusherEnv(env))
  const pusher = await connectPusher(t, bridge.url, { member: { user_id: 'ann' } })
  const channel = await subscribed(pusher, 'private-chat.1')
  const echo = await connectEcho(t, bridge.url, { bearerToken: socketToken({ sub: 'bob', rooms }) })
  echo.private('chat.1')
  t.equal(await answerTo(echo, 'private-chat.1'), 'ok')
  const room = await connectClient(t, bridge.url, { auth: { token: socketToken({ sub: 'cid', rooms }) } })
  t.same(await subscribe(room, 'chat.1'), { ok: true, room: 'chat.1' })
  return { ...bridge, pusher, channel, echo, room }
}

t.test('every publish path reaches each protocol\'s subscribers once, in its own format', async (t) => {
  const redis = laravelRedisEnv()
  const { url, channel, echo, room } = await threeProtocols(t, redis)
  const pusherSeen = recordChannel(channel)
  const echoSeen = recordAll(echo)
  const roomSeen = recordEvents(room)

  const body = { room: 'chat.1', message: { text: 'from /api' }, uuid: 'x-1' }
  const viaApi = nextOnChannel(channel, 'new_message')
  t.equal((await publishSigned(url, body)).status, 202)
  t.same(await viaApi, body, 'section 1 → pusher-js, the payload as data')

  const viaPusher = nextOnChannel(channel, 'MessageSent')
  await pusherSdk(url).trigger('private-chat.1', 'MessageSent', { text: 'from the Pusher API' })
  t.same(await viaPusher, { text: 'from the Pusher API' })

  const publish = await publisherFor(t, redis.BRIDGE_LARAVEL_REDIS_PREFIX)
  const viaRedis = nextOnChannel(channel, 'OrderShipped')
  await publish('private-chat.1', { event: 'OrderShipped', data: { id: 3, socket: null }, socket: null })
  t.same(await viaRedis, { id: 3 }, 'the redis broadcaster → pusher-js')

  const echoMarker = nextOn(echo, 'Marker', 'private-chat.1')
  const roomMarker = nextEvent(room, 'Marker' as 'new_message')
  const pusherMarker = nextOnChannel(channel, 'Marker')
  await pusherSdk(url).trigger('private-chat.1', 'Marker', {})
  await Promise.all([echoMarker, roomMarker, pusherMarker])
  const names = (list: Array<{ event: string }>) => list.map(({ event }) => event).filter((event) => !event.startsWith('pusher'))
  t.same(names(pusherSeen), ['new_message', 'MessageSent', 'OrderShipped', 'Marker'], 'pusher-js: each once')
  t.same(names(echoSeen), ['new_message', 'MessageSent', 'OrderShipped', 'Marker'], 'Echo: each once')
  t.same(names(roomSeen), ['new_message', 'MessageSent', 'OrderShipped', 'Marker'], 'the room: each once')
})

t.test('client events cross protocols, never back to the sender', async (t) => {
  const { pusher, channel, echo } = await threeProtocols(t)
  const pusherSeen = recordChannel(channel)
  const fromPusher = nextOn(echo, 'client-typing', 'private-chat.1')
  t.ok(channel.trigger('client-typing', { who: 'ann' }))
  t.same(await fromPusher, { who: 'ann' }, 'pusher-js → Echo on socket.io')

  const fromEcho = nextOnChannel(channel, 'client-typing')
  echo.private('chat.1').whisper('typing', { who: 'bob' })
  t.same(await fromEcho, { who: 'bob' }, 'Echo on socket.io → pusher-js')
  t.same(pusherSeen.filter(({ event }) => event === 'client-typing').map(({ data }) => data), [{ who: 'bob' }], 'pusher-js never got its own back')
  t.equal(pusher.connection.state, 'connected')
})

t.test('client events on presence channels carry the sender\'s user_id to pusher-js, from either protocol', async (t) => {
  const { url } = await startBridge(t, pusherEnv())
  const bob = await connectPusher(t, url, { member: { user_id: 'bob' } })
  const bobChannel = await subscribed(bob, 'presence-room.1')
  const ann = await connectPusher(t, url, { member: { user_id: 'ann' } })
  const annChannel = await subscribed(ann, 'presence-room.1')
  const cid = await connectEcho(t, url, { bearerToken: socketToken({ sub: 'cid', rooms }) })
  cid.join('room.1')
  t.equal(await answerTo(cid, 'presence-room.1'), 'ok')
  const received: unknown[] = []
  const two = new Promise((resolve) => bobChannel.bind('client-typing', (data: unknown, metadata: unknown) => { if (received.push([data, metadata]) === 2) resolve(received) }))
  annChannel.trigger('client-typing', { n: 1 })
  await nextOn(cid, 'client-typing', 'presence-room.1')
  cid.join('room.1').whisper('typing', { n: 2 })
  t.same(await two, [[{ n: 1 }, { user_id: 'ann' }], [{ n: 2 }, { user_id: 'cid' }]])
})

t.test('toOthers() leaves out the sender whichever protocol it is on', async (t) => {
  const { url, pusher, channel, echo } = await threeProtocols(t)
  const echoSeen = recordAll(echo)
  const pusherSeen = recordChannel(channel)
  const sdk = pusherSdk(url)
  await sdk.trigger('private-chat.1', 'NotToPusher', {}, { socket_id: pusher.connection.socket_id })
  await sdk.trigger('private-chat.1', 'NotToEcho', {}, { socket_id: String(socketOf(echo).id) })
  const marker = Promise.all([nextOn(echo, 'Marker', 'private-chat.1'), nextOnChannel(channel, 'Marker')])
  await sdk.trigger('private-chat.1', 'Marker', {})
  await marker
  t.same(pusherSeen.map(({ event }) => event).filter((event) => !event.startsWith('pusher')), ['NotToEcho', 'Marker'])
  t.same(echoSeen.map(({ event }) => event), ['NotToPusher', 'Marker'])
})

t.test('a user on pusher-js and on Echo\'s socket.io is one presence member', async (t) => {
  const { url } = await startBridge(t, pusherEnv())
  const bob = await connectPusher(t, url, { member: { user_id: 'bob', user_info: {} } })
  const bobChannel = await subscribed(bob, 'presence-room.1')
  const bobHeard = recordChannel(bobChannel)
  const added = nextOnChannel(bobChannel, 'pusher:member_added')
  const annEcho = await connectEcho(t, url, { bearerToken: socketToken({ sub: 'ann', rooms }) })
  const here = new Promise<unknown[]>((resolve) => annEcho.join('room.1').here(resolve))
  t.same(await added, { id: 'ann', info: {} }, 'Echo\'s socket.io user joins pusher-js\'s list')
  t.same((await here as Array<{ user_id?: unknown }>).length, 2, 'and sees the pusher-js user')

  const annPusher = await connectPusher(t, url, { member: { user_id: 'ann', user_info: {} } })
  const annChannel = await subscribed(annPusher, 'presence-room.1')
  t.equal((annChannel as unknown as { members: { count: number } }).members.count, 2, 'ann on two protocols: one member')
  const leaving = nextOn(annEcho, 'presence:leaving', 'presence-room.1', 2000)
  const removed = nextOnChannel(bobChannel, 'pusher:member_removed')
  annEcho.leave('room.1')
  annPusher.unsubscribe('presence-room.1')
  t.same(await removed, { id: 'ann', info: {} }, 'removed once her last connection left')
  await leaving.then(() => t.fail('Echo left: it hears nothing more'), () => t.pass('Echo left: it hears nothing more'))
  t.same(bobHeard.filter(({ event }) => event === 'pusher:member_added').length, 1, 'added once')
  t.same(bobHeard.filter(({ event }) => event === 'pusher:member_removed').length, 1, 'removed once')
})

t.test('room info and the Pusher read API count every protocol', async (t) => {
  const { url } = await threeProtocols(t)
  const channel = await signedGet(url, '/channels/private-chat.1', { info: 'subscription_count' })
  t.same(channel.body, { occupied: true, subscription_count: 3 })
  const listing = await signedGet(url, '/channels', { filter_by_prefix: 'private-' })
  t.same(listing.body, { channels: { 'private-chat.1': {} } })
  const response = await fetch(`${url}/api/rooms/chat.1`, { headers: signedHeaders('', { method: 'GET', url: '/api/rooms/chat.1' }) })
  t.same(await response.json(), { room: 'chat.1', subscribers: 3, users: 2 }, 'bob and cid by token; ann\'s pusher-js private subscription has no user yet')
})
