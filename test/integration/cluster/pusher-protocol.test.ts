// The Pusher protocol across two nodes on Redis: events, client events and presence reach
// pusher-js and socket.io Echo clients on the other node, one member per user across nodes
// and protocols, the read API counts both nodes, and terminate_connections reaches every node.
import t from 'tap'
import { socketToken, startBridge, waitFor } from '../../helpers/bridge.ts'
import { answerTo, connectEcho, nextOn } from '../../helpers/echo.ts'
import { pusherClient as pusherSdk, signedGet } from '../../helpers/pusher.ts'
import { connectPusher, nextOnChannel, pusherEnv, subscribed, type Pusher } from '../../helpers/pusher-js.ts'
import { clusterEnv } from '../../helpers/redis.ts'

t.setTimeout(120_000)

async function twoNodes (t: Parameters<typeof clusterEnv>[0]) {
  const env = pusherEnv(clusterEnv(t))
  return [await startBridge(t, env), await startBridge(t, env)] as const
}

t.test('events, client events and presence cross nodes and protocols', async (t) => {
  const [a, b] = await twoNodes(t)
  const ann = await connectPusher(t, a.url, { member: { user_id: 'ann', user_info: { on: 'a' } } })
  const bob = await connectPusher(t, b.url, { member: { user_id: 'bob', user_info: { on: 'b' } } })
  const annChannel = await subscribed(ann, 'presence-room.1')
  const added = nextOnChannel(annChannel, 'pusher:member_added')
  const bobChannel = await subscribed(bob, 'presence-room.1')
  t.same(await added, { id: 'bob', info: { on: 'b' } }, 'member_added across nodes')
  t.equal((bobChannel as unknown as { members: { count: number } }).members.count, 2, 'the member list holds both nodes\' users')

  const cid = await connectEcho(t, b.url, { bearerToken: socketToken({ sub: 'cid', rooms: ['presence-room.*'] }) })
  cid.join('room.1')
  t.equal(await answerTo(cid, 'presence-room.1'), 'ok')
  const annAgain = await connectPusher(t, b.url, { member: { user_id: 'ann', user_info: { on: 'a' } } })
  await subscribed(annAgain, 'presence-room.1')
  const users = await signedGet(a.url, '/channels/presence-room.1/users')
  t.same((users.body as { users: Array<{ id: string }> }).users.map(({ id }) => id).sort(), ['ann', 'bob', 'cid'], 'ann on two nodes is one member')
  const count = await signedGet(b.url, '/channels/presence-room.1', { info: 'subscription_count' })
  t.same(count.body, { occupied: true, subscription_count: 4 }, 'every socket of both nodes and both protocols')

  const onBob = nextOnChannel(bobChannel, 'OrderShipped')
  const onCid = nextOn(cid, 'OrderShipped', 'presence-room.1')
  await pusherSdk(a.url).trigger('presence-room.1', 'OrderShipped', { id: 1 }, { socket_id: ann.connection.socket_id })
  t.same(await onBob, { id: 1 }, 'pusher-js on the other node')
  t.same(await onCid, { id: 1 }, 'socket.io Echo on the other node')

  const typing = nextOn(cid, 'client-typing', 'presence-room.1')
  const bobTyping = new Promise((resolve) => bobChannel.bind('client-typing', (data: unknown, metadata: unknown) => resolve([data, metadata])))
  annChannel.trigger('client-typing', { from: 'ann' })
  t.same(await typing, { from: 'ann' })
  t.same(await bobTyping, [{ from: 'ann' }, { user_id: 'ann' }], 'pusher-js on the other node, with the sender\'s user_id')
})

t.test('terminate_connections closes the user\'s connections on every node', async (t) => {
  const [a, b] = await twoNodes(t)
  const signIn = async (client: Pusher) => {
    client.signin()
    await waitFor(() => (client.user as unknown as { user_data: unknown }).user_data != null, 'signed in', 5000)
  }
  const onA = await connectPusher(t, a.url, { user: { id: 'ann' } })
  const onB = await connectPusher(t, b.url, { user: { id: 'ann' } })
  const other = await connectPusher(t, b.url, { user: { id: 'bob' } })
  await Promise.all([signIn(onA), signIn(onB), signIn(other)])
  const closes = [onA, onB].map((client) => new Promise((resolve) => client.connection.bind('error', resolve)))
  await pusherSdk(a.url).terminateUserConnections('ann')
  for (const closed of await Promise.all(closes)) t.match(closed, { data: { code: 4009 } })
  t.equal(other.connection.state, 'connected', 'another user stays')
})
