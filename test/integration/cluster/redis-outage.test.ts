// Redis going away and coming back: readiness follows it, publishes are refused (never lost
// silently), nothing crashes, and the cluster works again once Redis is back.
import t from 'tap'
import { RETRY_AFTER_SECONDS } from '../../../src/http/errors.ts'
import { connectClient, metricOf, nextEvent, postJson, startBridge, subscribe } from '../../helpers/bridge.ts'
import { dropConnection } from '../../helpers/recovery.ts'
import { clusterEnv, privateRedis, redisClient, waitFor } from '../../helpers/redis.ts'

// Several bridges (or many reconnects) on a machine that may be busy: more than the default minute.
t.setTimeout(180_000)

async function readiness (url: string): Promise<number> {
  return (await fetch(`${url}/ready`)).status
}

t.test('readiness, publishes and room info follow Redis going away and coming back', async (t) => {
  const redis = await privateRedis(t)
  const env = clusterEnv(t, redis.url)
  const a = await startBridge(t, env)
  const b = await startBridge(t, env)
  const onA = await connectClient(t, a.url)
  const onB = await connectClient(t, b.url)
  await subscribe(onA, 'chat_1')
  await subscribe(onB, 'chat_1')
  let disconnects = 0
  for (const client of [onA, onB]) client.on('disconnect', () => { disconnects++ })

  t.equal(await readiness(a.url), 200, 'ready while Redis is there')
  const response = await fetch(`${a.url}/ready`)
  t.same(await response.json(), { status: 'ready' })
  t.equal(await metricOf(a.url, 'bridge_backplane_reconnects_total'), 0, 'no reconnect seen yet')

  await redis.stop()
  await waitFor('node A to report not ready', async () => await readiness(a.url) === 503)
  await waitFor('node B to report not ready', async () => await readiness(b.url) === 503)
  const notReady = await fetch(`${b.url}/ready`)
  t.match(await notReady.json(), { statusCode: 503, error: 'Service Unavailable', message: /Redis/ })

  const refused = await fetch(`${a.url}/api/sms/new-message`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ room: 'chat_1', message: { text: 'while Redis is away' }, uuid: 'during-outage' })
  })
  t.equal(refused.status, 503, 'a publish is refused, not accepted and lost')
  t.equal(refused.headers.get('retry-after'), String(RETRY_AFTER_SECONDS))
  t.match(await refused.json(), { statusCode: 503, error: 'Service Unavailable', code: 'BRIDGE_REDIS_UNAVAILABLE', message: /retry later/ })
  const batch = await postJson(b.url, '/api/sms/batch', { events: [{ type: 'new-message', room: 'chat_1', message: {} }] })
  t.equal(batch.status, 503, 'a batch too')
  const room = await a.fastify.inject({ method: 'GET', url: '/api/rooms/chat_1' })
  t.equal(room.statusCode, 503, 'room info cannot be counted across the cluster')
  t.equal((await fetch(`${a.url}/health`)).status, 200, 'the process is alive')

  // Sockets keep coming and going meanwhile: each is handled locally, nothing waits for Redis.
  const newcomer = await connectClient(t, b.url)
  t.same(await subscribe(newcomer, 'chat_2'), { ok: true, room: 'chat_2' }, 'subscribing works without Redis')
  const leaving = await connectClient(t, a.url)
  await subscribe(leaving, 'chat_2')
  await dropConnection(leaving, a.fastify)

  await redis.start()
  await waitFor('node A to be ready again', async () => await readiness(a.url) === 200)
  await waitFor('node B to be ready again', async () => await readiness(b.url) === 200)
  t.equal(await metricOf(a.url, 'bridge_backplane_reconnects_total'), 1, 'node A counts the reconnect it saw')
  t.equal(await metricOf(b.url, 'bridge_backplane_reconnects_total'), 1, 'node B too')

  // The uuid refused during the outage was not kept: its retry is published now, to both nodes.
  const toA = nextEvent(onA, 'new_message', 15000)
  const toB = nextEvent(onB, 'new_message', 15000)
  const retried = await waitForAccepted(a.url, { room: 'chat_1', message: { text: 'retried' }, uuid: 'during-outage' })
  t.equal(retried.status, 202, 'the retry of the refused publish is accepted')
  t.match(await toA, { uuid: 'during-outage' })
  t.match(await toB, { uuid: 'during-outage' }, 'and reaches the other node again')
  const info = await b.fastify.inject({ method: 'GET', url: '/api/rooms/chat_1' })
  t.same(info.json(), { room: 'chat_1', subscribers: 2, users: 0 })
  t.equal(disconnects, 0, 'connected clients stayed connected throughout')
  await waitFor('node A to read up to the stream\'s end', async () => await metricOf(a.url, 'bridge_backplane_lag_seconds') === 0)
})

/**
 * Once a node reports ready, its connections to Redis are back; the adapter's own ones follow
 * within moments. Publish (refused with 503 until then) the way a backend retries.
 */
async function waitForAccepted (url: string, body: unknown) {
  let answer = await postJson(url, '/api/sms/new-message', body)
  for (let tries = 0; answer.status === 503 && tries < 100; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    answer = await postJson(url, '/api/sms/new-message', body)
  }
  return answer
}

t.test('a publish Redis does not answer in time is answered 503, never 202', async (t) => {
  const redis = await privateRedis(t)
  const env = clusterEnv(t, redis.url)
  const deduplicating = await startBridge(t, env)
  // Without de-duplication the only write of a publish is the event itself.
  const plain = await startBridge(t, { ...env, BRIDGE_IDEMPOTENCY_TTL: '0' })
  const control = await redisClient(t, redis.url)
  // Redis keeps its connections but holds every write: the bridge's commands go unanswered.
  await control.sendCommand(['CLIENT', 'PAUSE', '60000', 'WRITE'])
  t.teardown(async () => { await control.sendCommand(['CLIENT', 'UNPAUSE']).catch(() => {}) })

  const body = { room: 'chat_1', message: { text: 'stuck' }, uuid: 'held-write' }
  const [claimHeld, eventHeld] = await Promise.all([
    postJson(deduplicating.url, '/api/sms/new-message', body),
    postJson(plain.url, '/api/sms/new-message', { ...body, uuid: 'held-event' })
  ])
  t.equal(claimHeld.status, 503, 'the uuid and its event could not be stored in time')
  t.match(claimHeld.body, { code: 'BRIDGE_REDIS_UNAVAILABLE', message: /may still be stored, retry later with the same uuid/ })
  t.equal(eventHeld.status, 503, 'the event could not be stored')
  t.match(eventHeld.body, { code: 'BRIDGE_REDIS_UNAVAILABLE', message: 'Redis did not store the event (cluster mode); retry later' })

  await control.sendCommand(['CLIENT', 'UNPAUSE'])
  // The held claim and its event are stored together once Redis goes on: the retry is a duplicate of a stored event.
  const retried = await postJson(deduplicating.url, '/api/sms/new-message', body)
  t.equal(retried.status, 200, 'the retry finds the uuid claimed')
  const stored = await control.xRange(`${env.BRIDGE_REDIS_PREFIX}bus`, '-', '+') ?? []
  t.equal(stored.filter(({ message }) => String(message.p0).includes('"uuid":"held-write"')).length, 1, 'and its event stored, once')
  t.equal((await postJson(plain.url, '/api/sms/new-message', body)).status, 202)
})
