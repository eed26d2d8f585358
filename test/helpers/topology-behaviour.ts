// What two bridges on any Redis deployment do as one, as on one Redis: delivery, de-duplication
// (batches too, whose uuids lie in different slots of a Redis Cluster), room counts, recovery on
// another node, presence and whispers across nodes. Each topology's test file runs it.
import type { Test } from 'tap'
import type { Env } from '../../src/config/index.ts'
import { connectClient, nextEvent, postJson, recordEvents, securedEnv, socketToken, startBridge, subscribe } from './bridge.ts'
import { connectEcho, nextOn } from './echo.ts'
import { loadBalancer } from './load-balancer.ts'
import { dropConnection, eventsArrived, reconnect } from './recovery.ts'
import { userIdFromHandshake } from './user-id.ts'

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
