// What two bridges on any Redis deployment do as one, as on one Redis: delivery, de-duplication
// (batches too, whose uuids lie in different slots of a Redis Cluster), room counts, recovery on
// another node, presence and whispers across nodes; and a failover under them. Each topology's
// test files run them.
import type { FastifyInstance } from 'fastify'
import type { Test } from 'tap'
import type { Env } from '../../src/config/index.ts'
import { captureLogs, connectClient, nextEvent, postJson, recordEvents, securedEnv, socketToken, startBridge, subscribe, waitFor, type TestClient } from './bridge.ts'
import { connectEcho, nextOn } from './echo.ts'
import { loadBalancer } from './load-balancer.ts'
import { dropConnection, eventsArrived, reconnect } from './recovery.ts'
import { pusherClient as pusherSdk, pusherEnv } from './pusher.ts'
import { connectPusher, nextOnChannel, subscribed } from './pusher-js.ts'
import { userIdFromHandshake } from './user-id.ts'
import { eventsOf, webhookReceiver } from './webhook-receiver.ts'

/** `envOf` gives each test the environment of a fresh deployment on the topology (a prefix of its own). */
export function twoBridgesActAsOne (t: Test, name: string, envOf: () => Env): void {
  t.test(`${name}: an event reaches both nodes once; its uuid is a duplicate on the other node; rooms count on both`, async (t) => {
    const env = envOf()
    const a = await startBridge(t, env)
    const b = await startBridge(t, env)
    userIdFromHandshake(a.fastify)
    userIdFromHandshake(b.fastify)
    const onA = await connectClient(t, a.url, { auth: { sub: 'ann' } })
    const onB = await connectClient(t, b.url, { auth: { sub: 'bob' } })
    await subscribe(onA, 'chat_1')
    await subscribe(onB, 'chat_1')
    const seenOnB = recordEvents(onB)

    const body = { room: 'chat_1', message: { text: 'once' }, uuid: 'sentinel-1' }
    const toA = nextEvent(onA, 'new_message')
    const toB = nextEvent(onB, 'new_message')
    t.equal((await postJson(a.url, '/api/sms/new-message', body)).status, 202)
    t.same(await toA, body)
    t.same(await toB, body, 'the other node delivers it')
    const retry = await postJson(b.url, '/api/sms/new-message', body)
    t.equal(retry.status, 200, 'the retry on the other node is a duplicate')
    t.equal(retry.body.duplicate, true)

    const marker = nextEvent(onB, 'status_update')
    await postJson(b.url, '/api/sms/status-update', { room: 'chat_1', messageId: 1, status: 'read' })
    await marker
    t.same(seenOnB.map(({ event }) => event), ['new_message', 'status_update'], 'delivered once')
    const counted = await a.fastify.inject({ method: 'GET', url: '/api/rooms/chat_1' })
    t.same(counted.json(), { room: 'chat_1', subscribers: 2, users: 2 }, 'both nodes\' sockets counted')
  })

  t.test(`${name}: a client sent to the other node recovers its rooms and missed events there`, async (t) => {
    const env = envOf()
    const a = await startBridge(t, env)
    const b = await startBridge(t, env)
    const balancer = await loadBalancer(t, b.url)
    const client = await connectClient(t, balancer.url)
    await subscribe(client, 'chat_2')
    const received = recordEvents(client)
    balancer.pointTo(a.url)
    await dropConnection(client, b.fastify)
    for (const n of [1, 2, 3]) t.equal((await postJson((n % 2 === 0 ? a : b).url, '/api/sms/new-message', { room: 'chat_2', message: { n } })).status, 202)
    const missed = eventsArrived(client, received, 3)
    await reconnect(client)
    t.equal(client.recovered, true, 'socket.recovered is true')
    await missed
    t.same(received.map(({ data }) => (data as { message: { n: number } }).message.n), [1, 2, 3], 'in order')
  })

  t.test(`${name}: Echo presence and whispers cross the nodes`, async (t) => {
    const env = securedEnv(envOf())
    const a = await startBridge(t, env)
    const b = await startBridge(t, env)
    const token = (sub: string) => socketToken({ sub, rooms: ['presence-room.*'], user_info: { name: sub } })
    const ann = await connectEcho(t, a.url, { bearerToken: token('ann') })
    const bob = await connectEcho(t, b.url, { bearerToken: token('bob') })
    const joined = nextOn(ann, 'presence:subscribed', 'presence-room.1')
    ann.join('room.1')
    await joined
    const annSeesBob = nextOn(ann, 'presence:joining', 'presence-room.1')
    const bobMembers = nextOn(bob, 'presence:subscribed', 'presence-room.1')
    bob.join('room.1')
    t.same((await bobMembers as Array<{ user_id: string }>).map(({ user_id: id }) => id).sort(), ['ann', 'bob'], 'Bob on node B is told of Ann on node A')
    t.same(await annSeesBob, { user_id: 'bob', user_info: { name: 'bob' } }, 'Ann is told Bob joined')

    const whisper = new Promise((resolve) => bob.join('room.1').listenForWhisper('typing', resolve))
    ann.join('room.1').whisper('typing', { typing: true })
    t.same(await whisper, { typing: true }, 'the whisper reached the other node')
  })

  t.test(`${name}: webhooks are sent once for both nodes, in order`, async (t) => {
    const receiver = await webhookReceiver(t)
    const env = pusherEnv(securedEnv({ ...envOf(), BRIDGE_WEBHOOK_URL: receiver.url, BRIDGE_WEBHOOK_BATCH_MS: '20' }))
    const a = await startBridge(t, env)
    const b = await startBridge(t, env)
    const token = (sub: string) => socketToken({ sub, rooms: ['presence-room.*'] })
    const ann = await connectEcho(t, a.url, { bearerToken: token('ann') })
    const bob = await connectEcho(t, b.url, { bearerToken: token('bob') })
    for (const echo of [ann, bob]) {
      const joined = nextOn(echo, 'presence:subscribed', 'presence-room.9')
      echo.join('room.9')
      await joined
    }
    await waitFor(() => eventsOf(receiver.delivered(), 'presence-room.9').length === 3, 'occupied and both members added')
    ann.leave('room.9')
    await waitFor(() => eventsOf(receiver.delivered(), 'presence-room.9').length === 4, 'ann removed')
    bob.leave('room.9')
    await waitFor(() => eventsOf(receiver.delivered(), 'presence-room.9').length === 6, 'bob removed and the channel vacated')
    await new Promise((resolve) => setTimeout(resolve, 1000))
    t.same(eventsOf(receiver.delivered(), 'presence-room.9'),
      ['channel_occupied', 'member_added:ann', 'member_added:bob', 'member_removed:ann', 'member_removed:bob', 'channel_vacated'], 'each once, in order')
    t.ok(receiver.requests.every((request) => request.signed))
  })

  t.test(`${name}: pusher-js on one node gets what Laravel sends through the other, on a channel and to its signed-in user`, async (t) => {
    const env = pusherEnv(envOf())
    const a = await startBridge(t, env)
    const b = await startBridge(t, env)
    const ann = await connectPusher(t, a.url, { user: { id: 'ann' } })
    const channel = await subscribed(ann, 'private-orders.1')
    const shipped = nextOnChannel(channel, 'OrderShipped')
    await pusherSdk(b.url).trigger('private-orders.1', 'OrderShipped', { id: 1 })
    t.same(await shipped, { id: 1 }, 'on the channel')
    ann.signin()
    await waitFor(() => (ann.user as unknown as { user_data: unknown }).user_data != null, 'pusher-js signed in', 5000)
    const notice = new Promise((resolve) => ann.user.bind('Notice', resolve))
    await pusherSdk(b.url).sendToUser('ann', 'Notice', { text: 'for Ann' })
    t.same(await notice, { text: 'for Ann' }, 'to the user')
  })

  t.test(`${name}: a batch's uuids are claimed once across nodes`, async (t) => {
    const env = envOf()
    const a = await startBridge(t, env)
    const b = await startBridge(t, env)
    const events = ['u1', 'u2', 'u3', 'u4', 'u5', 'u6'].map((uuid) => ({ type: 'new-message', room: 'chat_3', message: { uuid }, uuid: `batch-${uuid}` }))
    t.equal((await postJson(a.url, '/api/sms/batch', { events: events.slice(0, 3) })).status, 202)
    const again = await postJson(b.url, '/api/sms/batch', { events })
    t.equal(again.status, 202)
    const results = (again.body as { results: Array<{ duplicate?: boolean }> }).results
    t.same(results.map((result) => result.duplicate === true), [true, true, true, false, false, false], 'the first three were duplicates on the other node')
  })
}

export const SERVING_AGAIN_WITHIN_MS = 15_000

async function ready (fastify: FastifyInstance): Promise<boolean> {
  return (await fastify.inject({ method: 'GET', url: '/ready' })).statusCode === 200
}

function numbersOf (received: Array<{ event: string, data: unknown }>): number[] {
  return received.filter(({ event }) => event === 'new_message').map(({ data }) => (data as { message: { n: number } }).message.n)
}

/**
 * Two bridges on `env`'s deployment, publishing all along, while `fail` fails its primary over:
 * both serve again within 15 s of it, every accepted event reaches the connected clients once, a
 * client away meanwhile recovers them all or is told it did not, and `moved` is logged.
 */
export async function failoverUnderTwoBridges (t: Test, env: Env, fail: () => Promise<unknown>, moved?: string): Promise<void> {
  const logs = captureLogs()
  const a = await startBridge(t, { ...env, LOG_LEVEL: 'info' }, { logStream: logs.stream })
  const b = await startBridge(t, env)
  const clients: TestClient[] = [await connectClient(t, a.url), await connectClient(t, b.url)]
  for (const client of clients) await subscribe(client, 'chat_1')
  const received = clients.map((client) => recordEvents(client))
  // One more client, away during the failover: it comes back to recover what it missed.
  const away = await connectClient(t, b.url)
  await subscribe(away, 'chat_1')
  const receivedAway = recordEvents(away)

  // Publishes go on through the failover; those answered 202 must reach both clients.
  const accepted: number[] = []
  const publishing = { on: true }
  const publisher = (async () => {
    for (let n = 0; publishing.on; n++) {
      const answer = await postJson(a.url, '/api/sms/new-message', { room: 'chat_1', message: { n } }).catch(() => undefined)
      if (answer?.status === 202) accepted.push(n)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  })()
  await waitFor(() => accepted.length >= 10, 'publishes before the failover')

  await dropConnection(away, b.fastify)
  const awayFrom = accepted.length
  const failedAt = Date.now()
  await fail()
  await waitFor(async () => await ready(a.fastify) && await ready(b.fastify), 'both bridges ready again', SERVING_AGAIN_WITHIN_MS)
  const acceptedAfter = accepted.length
  await waitFor(() => accepted.length > acceptedAfter + 5, 'publishes accepted after the failover', SERVING_AGAIN_WITHIN_MS)
  const last = accepted.at(-1) as number
  await waitFor(() => received.every((seen) => numbersOf(seen).includes(last)), 'an event published after the failover on both nodes', SERVING_AGAIN_WITHIN_MS)
  const servingAfterMs = Date.now() - failedAt
  t.ok(servingAfterMs < SERVING_AGAIN_WITHIN_MS, `serving again ${servingAfterMs} ms after the failover began`)
  publishing.on = false
  await publisher
  // Room counts ask every node over pub/sub, which has moved to the new primary too: each node's
  // own pub/sub connection moves on its own, so each is waited for.
  for (const bridge of [a, b]) {
    await waitFor(async () => (await bridge.fastify.inject({ method: 'GET', url: '/api/rooms/chat_1' })).statusCode === 200, 'room counts answered again', SERVING_AGAIN_WITHIN_MS)
  }
  for (const bridge of [a, b]) {
    t.same((await bridge.fastify.inject({ method: 'GET', url: '/api/rooms/chat_1' })).json(), { room: 'chat_1', subscribers: 2, users: 0 }, 'both nodes answer room counts')
  }

  // The clients stay connected through it, so none is told anything: every accepted event must arrive, once.
  for (const [index, seen] of received.entries()) {
    const numbers = numbersOf(seen)
    t.same(numbers, [...new Set(numbers)], `client ${index}: no event twice`)
    t.same(accepted.filter((n) => !numbers.includes(n)), [], `client ${index}: every accepted event arrived`)
  }
  t.ok(clients.every((client) => client.connected), 'clients stayed connected')
  // Back after the failover: it recovers every accepted event it missed, or is told it did not.
  await reconnect(away)
  if (away.recovered) {
    await eventsArrived(away, receivedAway, accepted.length - awayFrom)
    t.same(accepted.slice(awayFrom).filter((n) => !numbersOf(receivedAway).includes(n)), [], 'the client away recovered every accepted event')
  } else {
    t.pass('the client away was told it did not recover (recovered === false)')
  }
  if (moved !== undefined) t.ok(logs.lines.some((line) => line.msg === moved), 'the move is logged')
  t.ok(logs.lines.some((line) => line.msg === 'Redis reachable again'), 'the return is logged (and what was read before the move is not taken as recoverable)')
}
