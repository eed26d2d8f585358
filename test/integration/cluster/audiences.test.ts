// One audience per name on two bridges sharing one Redis: the bridge's room R on one node and
// Echo's private-R on the other are one channel (the HTTP API, the Pusher API and Laravel's redis
// broadcaster reach both, once each, in their own format; none of it reaches the public channel
// R), and either node's room count and Pusher read API count both kinds.
import type { Socket } from 'socket.io-client'
import t from 'tap'
import { connectClient, postJson, secrets, socketToken, startBridge, subscribe, unsubscribe } from '../../helpers/bridge.ts'
import { answerTo, connectEcho, socketOf } from '../../helpers/echo.ts'
import { laravelRedisEnv, publisherFor } from '../../helpers/laravel-redis.ts'
import { pusherClient, pusherEnv } from '../../helpers/pusher.ts'
import { clusterEnv } from '../../helpers/redis.ts'

// Two bridges, Echo loading, on a machine busy with other suites.
t.setTimeout(180_000)

const ROOM = 'chat_7'
const PRIVATE = `private-${ROOM}`
const publisher = { authorization: `Bearer ${secrets.apiToken}` }

/** Every event the socket receives from now on, its arguments without the recovery offset. */
function record (socket: Socket, argCount: number): unknown[][] {
  const seen: unknown[][] = []
  socket.onAny((event: string, ...args: unknown[]) => { seen.push([event, ...args.slice(0, argCount)]) })
  return seen
}

/** Resolves once the socket has received `event`. */
function arrival (socket: Socket, event: string, ms = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { socket.offAny(listener); reject(new Error(`no ${event} within ${ms} ms`)) }, ms)
    function listener (name: string): void {
      if (name !== event) return
      clearTimeout(timer)
      socket.offAny(listener)
      resolve()
    }
    socket.onAny(listener)
  })
}

t.test('room R on node A and private-R on node B are one channel, counted as one; the public R is another', async (t) => {
  const laravel = laravelRedisEnv()
  const env = { ...clusterEnv(t), ...laravel, ...pusherEnv(), BRIDGE_API_TOKEN: secrets.apiToken, BRIDGE_JWT_SECRET: secrets.jwtSecret }
  const a = await startBridge(t, env)
  const b = await startBridge(t, env)
  const member = await connectClient(t, a.url, { auth: { token: socketToken({ sub: 'ann', rooms: [ROOM] }) } })
  t.same(await subscribe(member, ROOM), { ok: true, room: ROOM })
  const echoMember = await connectEcho(t, b.url, { bearerToken: socketToken({ sub: 'bob', rooms: [PRIVATE] }) })
  echoMember.private(ROOM)
  t.equal(await answerTo(echoMember, PRIVATE), 'ok')
  const bystander = await connectEcho(t, b.url, { bearerToken: socketToken({ sub: 'carol', rooms: [] }) })
  bystander.channel(ROOM)
  t.equal(await answerTo(bystander, ROOM), 'ok')

  async function counts (url: string) {
    const room = await (await fetch(`${url}/api/rooms/${ROOM}`, { headers: publisher })).json()
    const pusher = pusherClient(url)
    const channels = await (await pusher.get({ path: '/channels', params: { filter_by_prefix: '', info: 'subscription_count' } })).json()
    const channel = await (await pusher.get({ path: `/channels/${PRIVATE}`, params: { info: 'subscription_count' } })).json()
    return { room, channels, channel }
  }
  for (const [name, node] of [['A', a], ['B', b]] as const) {
    t.same(await counts(node.url), {
      room: { room: ROOM, subscribers: 2, users: 2 },
      channels: { channels: { [PRIVATE]: { subscription_count: 2 }, [ROOM]: { subscription_count: 1 } } },
      channel: { occupied: true, subscription_count: 2 }
    }, `node ${name}: room R counts its subscribers and private-R's; the Pusher read side names it private-R`)
  }

  const memberSeen = record(member, 1)
  const echoSeen = record(socketOf(echoMember), 2)
  const bystanderSeen = record(socketOf(bystander), 2)
  const body = { room: ROOM, message: { n: 1 }, uuid: 'audience-1' }
  t.equal((await postJson(a.url, '/api/sms/new-message', body, publisher)).status, 202, 'section 1 on node A')
  await pusherClient(b.url).trigger(PRIVATE, 'FromPusher', { n: 2 })
  // Both nodes read Laravel's Redis; one of them delivers.
  const fromRedis = [arrival(member, 'FromRedis'), arrival(socketOf(echoMember), 'FromRedis')]
  const publish = await publisherFor(t, laravel.BRIDGE_LARAVEL_REDIS_PREFIX)
  t.equal(await publish(PRIVATE, { event: 'FromRedis', data: { n: 3 }, socket: null }), 2, 'both bridges read it')
  await Promise.all(fromRedis)
  await pusherClient(a.url).trigger(ROOM, 'PublicNews', { n: 4 })

  const last = [arrival(member, 'status_update'), arrival(socketOf(echoMember), 'status_update'),
    arrival(socketOf(bystander), 'PublicDone')]
  const marker = { room: ROOM, messageId: 1, status: 'read' }
  t.equal((await postJson(b.url, '/api/sms/status-update', marker, publisher)).status, 202, 'section 1 on node B')
  await pusherClient(b.url).trigger(ROOM, 'PublicDone', {})
  await Promise.all(last)

  t.match(memberSeen, [['new_message', body], ['FromPusher', { n: 2 }], ['FromRedis', { n: 3 }], ['status_update', marker]],
    'room R on node A: every event of private-R, once, as (event, data)')
  t.equal(memberSeen.length, 4)
  t.match(echoSeen, [['new_message', PRIVATE, body], ['FromPusher', PRIVATE, { n: 2 }], ['FromRedis', PRIVATE, { n: 3 }], ['status_update', PRIVATE, marker]],
    'private-R on node B: the same, once, as (event, channel, data)')
  t.equal(echoSeen.length, 4)
  t.same(bystanderSeen, [['PublicNews', ROOM, { n: 4 }], ['PublicDone', ROOM, {}]], 'the public R on node B: only its own events')

  t.same(await unsubscribe(member, ROOM), { ok: true, room: ROOM })
  t.same((await counts(b.url)).room, { room: ROOM, subscribers: 1, users: 1 }, 'with room R\'s subscriber gone, private-R\'s is left')
})
