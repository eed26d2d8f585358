// Two bridges on one Redis act as one: events, de-duplication and room counts span both.
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { connectClient, nextEvent, postJson, recordEvents, startBridge, subscribe, unsubscribe } from '../../helpers/bridge.ts'
import { clusterEnv, redisClient } from '../../helpers/redis.ts'
import { userIdFromHandshake } from '../../helpers/user-id.ts'

// Several bridges (or many reconnects) on a machine that may be busy: more than the default minute.
t.setTimeout(180_000)

t.test('an event published on one node reaches the subscribers of every node', async (t) => {
  const env = clusterEnv(t)
  const a = await startBridge(t, env)
  const b = await startBridge(t, env)
  const onA = await connectClient(t, a.url)
  const onB = await connectClient(t, b.url)
  await subscribe(onA, 'chat_1')
  await subscribe(onB, 'chat_1')

  const body = { room: 'chat_1', message: { id: 1, text: 'from A' }, uuid: 'cluster-1' }
  const toA = nextEvent(onA, 'new_message')
  const toB = nextEvent(onB, 'new_message')
  const answer = await postJson(a.url, '/api/sms/new-message', body)
  t.equal(answer.status, 202)
  t.same(answer.body, { ok: true, event: 'new_message', room: 'chat_1', uuid: 'cluster-1' })
  t.same(await toB, body, 'the other node delivers it')
  t.same(await toA, body, 'the publishing node delivers it too')
})

t.test('events from one node arrive on another once each, in order, only in their room', async (t) => {
  const env = clusterEnv(t)
  const a = await startBridge(t, env)
  const b = await startBridge(t, env)
  const inRoom = await connectClient(t, b.url)
  const elsewhere = await connectClient(t, b.url)
  await subscribe(inRoom, 'chat_2')
  await subscribe(elsewhere, 'chat_3')
  const seen = recordEvents(inRoom)
  const seenElsewhere = recordEvents(elsewhere)

  const last = nextEvent(inRoom, 'status_update')
  for (const text of ['one', 'two', 'three']) {
    t.equal((await postJson(a.url, '/api/sms/new-message', { room: 'chat_2', message: { text } })).status, 202)
  }
  const batch = await postJson(a.url, '/api/sms/batch', {
    events: [
      { type: 'edit-message', room: 'chat_2', messageId: 1, message: { text: 'one!' } },
      { type: 'status-update', room: 'chat_2', messageId: 1, status: 'read' }
    ]
  })
  t.equal(batch.status, 202)
  await last
  t.same(seen.map(({ event, data }) => [event, (data as { message?: { text: string } }).message?.text]), [
    ['new_message', 'one'],
    ['new_message', 'two'],
    ['new_message', 'three'],
    ['edit_message', 'one!'],
    ['status_update', undefined]
  ])
  t.same(seenElsewhere, [], 'a socket in another room gets nothing')
})

t.test('a uuid accepted on one node is a duplicate on the other, kept in Redis for the window', async (t) => {
  const env = clusterEnv(t)
  const redis = await redisClient(t)
  const a = await startBridge(t, { ...env, BRIDGE_IDEMPOTENCY_TTL: '120' })
  const b = await startBridge(t, { ...env, BRIDGE_IDEMPOTENCY_TTL: '120' })
  const onA = await connectClient(t, a.url)
  const onB = await connectClient(t, b.url)
  await subscribe(onA, 'chat_4')
  await subscribe(onB, 'chat_4')
  const seenOnA = recordEvents(onA)
  const seenOnB = recordEvents(onB)

  const body = { room: 'chat_4', message: { text: 'once' }, uuid: 'retried-job' }
  t.equal((await postJson(a.url, '/api/sms/new-message', body)).status, 202)
  const retry = await postJson(b.url, '/api/sms/new-message', body)
  t.equal(retry.status, 200, 'the retry on the other node is recognised')
  t.same(retry.body, { ok: true, event: 'new_message', room: 'chat_4', uuid: 'retried-job', duplicate: true })
  t.equal((await postJson(a.url, '/api/sms/new-message', body)).status, 200, 'and on the first node')

  const ttl = await redis.ttl(`${env.BRIDGE_REDIS_PREFIX}idempotency:retried-job`)
  t.ok(ttl > 0 && ttl <= 120, `the claim expires with the window (ttl ${ttl})`)

  // A later event arriving proves the duplicate would have arrived before it, had it been sent.
  const markerOnA = nextEvent(onA, 'status_update')
  const markerOnB = nextEvent(onB, 'status_update')
  await postJson(b.url, '/api/sms/status-update', { room: 'chat_4', messageId: 1, status: 'read' })
  await Promise.all([markerOnA, markerOnB])
  t.same(seenOnA.map((e) => e.event), ['new_message', 'status_update'], 'node A delivered it once')
  t.same(seenOnB.map((e) => e.event), ['new_message', 'status_update'], 'node B delivered it once')
})

t.test('GET /api/rooms/:room counts sockets and distinct users on every node', async (t) => {
  const env = clusterEnv(t)
  const a = await startBridge(t, env)
  const b = await startBridge(t, env)
  userIdFromHandshake(a.fastify)
  userIdFromHandshake(b.fastify)

  const aliceOnA = await connectClient(t, a.url, { auth: { sub: 'alice' } })
  const aliceOnB = await connectClient(t, b.url, { auth: { sub: 'alice' } })
  const bobOnB = await connectClient(t, b.url, { auth: { sub: 'bob' } })
  const anonymousOnA = await connectClient(t, a.url)
  const carolOnB = await connectClient(t, b.url, { auth: { sub: 'carol' } })
  for (const client of [aliceOnA, aliceOnB, bobOnB, anonymousOnA]) await subscribe(client, 'chat_5')
  await subscribe(carolOnB, 'chat_6')

  for (const bridge of [a, b]) {
    const response = await bridge.fastify.inject({ method: 'GET', url: '/api/rooms/chat_5' })
    t.equal(response.statusCode, 200)
    t.same(response.json(), { room: 'chat_5', subscribers: 4, users: 2 }, 'alice twice, bob, and a socket without user')
  }

  await unsubscribe(bobOnB, 'chat_5')
  aliceOnB.disconnect()
  await waitForCount(a.fastify, 'chat_5', 2)
  const after = await a.fastify.inject({ method: 'GET', url: '/api/rooms/chat_5' })
  t.same(after.json(), { room: 'chat_5', subscribers: 2, users: 1 }, 'after bob left and one of alice\'s tabs closed')

  const empty = await b.fastify.inject({ method: 'GET', url: '/api/rooms/chat_nobody' })
  t.equal(empty.statusCode, 200)
  t.same(empty.json(), { room: 'chat_nobody', subscribers: 0, users: 0 })
})

/** Leaving is asynchronous on the server; wait until the room has `count` sockets. */
async function waitForCount (fastify: FastifyInstance, room: string, count: number) {
  for (let tries = 0; tries < 100; tries++) {
    const response = await fastify.inject({ method: 'GET', url: `/api/rooms/${room}` })
    if ((response.json() as { subscribers: number }).subscribers === count) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`room ${room} never had ${count} sockets`)
}
