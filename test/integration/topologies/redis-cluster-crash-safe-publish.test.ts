// Crash-safe publish on a Redis Cluster (three primaries, three replicas this test starts): a
// claim is pending until its event is handed on. A claim left pending by a node that died is
// answered 503 with Retry-After, never as a duplicate, and the retry is accepted and delivered
// once when the claim expires; a node killed with publishes in flight leaves no duplicate for
// an event nobody got.
import { setTimeout as sleep } from 'node:timers/promises'
import { createCluster } from 'redis'
import t, { type Test } from 'tap'
import { PENDING_CLAIM_SECONDS } from '../../../src/backplane/pending-claims.ts'
import { connectClient, nextEvent, postJson, postRaw, recordEvents, securedEnv, signedHeaders, startBridge, subscribe, waitFor } from '../../helpers/bridge.ts'
import { retriedAfterCrashes } from '../../helpers/publish-crash.ts'
import { redisClusterEnv, startRedisCluster, type RedisClusterSet } from '../../helpers/redis-topologies.ts'

t.setTimeout(300_000)

const cluster = await startRedisCluster(t)

async function clusterClient (t: Test, set: RedisClusterSet) {
  const client = createCluster({ rootNodes: set.nodes.split(',').map((address) => ({ url: `redis://${address}` })) })
  client.on('error', () => {})
  await client.connect()
  t.teardown(() => { client.destroy() })
  return client
}

type Answer = Awaited<ReturnType<typeof postJson>>

/** Posts until the answer is not a 503, waiting each Retry-After; answers the last answer and the seconds waited. */
async function postHonouringRetryAfter (url: string, path: string, body: unknown): Promise<{ answer: Answer, refusals: Answer[], waited: number }> {
  const refusals: Answer[] = []
  let waited = 0
  for (;;) {
    const answer = await postJson(url, path, body)
    if (answer.status !== 503) return { answer, refusals, waited }
    refusals.push(answer)
    const seconds = Number(answer.headers.get('retry-after'))
    if (!(seconds > 0) || refusals.length > 20) return { answer, refusals, waited }
    waited += seconds
    await sleep(seconds * 1000)
  }
}

t.test('a claim left pending by a node that died: 503 with Retry-After, then accepted within the pending time and delivered once', async (t) => {
  const env = redisClusterEnv(cluster)
  const redis = await clusterClient(t, cluster)
  const a = await startBridge(t, env)
  const client = await connectClient(t, a.url)
  await subscribe(client, 'chat_pending')
  const received = recordEvents(client)

  // What a node killed between its claim and its append leaves behind.
  const uuid = 'pending-after-crash'
  await redis.set(`${env.BRIDGE_REDIS_PREFIX}idempotency:${uuid}`, 'pending', { expiration: { type: 'EX', value: PENDING_CLAIM_SECONDS } })
  const body = { room: 'chat_pending', uuid, message: { text: 'retried' } }
  const { answer, refusals, waited } = await postHonouringRetryAfter(a.url, '/api/sms/new-message', body)
  t.ok(refusals.length > 0, 'the retry during the pending time is refused')
  const [first] = refusals
  t.equal(first?.status, 503)
  t.equal(first?.body.code, 'BRIDGE_PUBLISH_PENDING')
  t.match(first?.body.message, /being published by another request, or the node publishing it died/)
  const retryAfter = Number(first?.headers.get('retry-after'))
  t.ok(retryAfter >= 1 && retryAfter <= PENDING_CLAIM_SECONDS, `Retry-After ${retryAfter} s is at most the pending time`)
  t.equal(answer.status, 202, 'accepted once the pending claim expired')
  t.ok(waited <= PENDING_CLAIM_SECONDS + 1, `accepted after waiting ${waited} s as told`)

  const retry = await postJson(a.url, '/api/sms/new-message', body)
  t.equal(retry.status, 200, 'then a duplicate')
  t.equal(retry.body.duplicate, true)
  const marker = nextEvent(client, 'status_update')
  await postJson(a.url, '/api/sms/status-update', { room: 'chat_pending', messageId: 1, status: 'read' })
  await marker
  t.same(received.map(({ event }) => event), ['new_message', 'status_update'], 'delivered once')
  t.same(received[0]?.data, body)
  t.equal(await redis.get(`${env.BRIDGE_REDIS_PREFIX}idempotency:${uuid}`), '1', 'the claim is confirmed')
  t.ok(await redis.ttl(`${env.BRIDGE_REDIS_PREFIX}idempotency:${uuid}`) > PENDING_CLAIM_SECONDS, 'for the idempotency window')
})

t.test('a batch with one uuid pending is refused whole and leaves its other uuids free', async (t) => {
  const env = redisClusterEnv(cluster)
  const redis = await clusterClient(t, cluster)
  const a = await startBridge(t, env)
  const client = await connectClient(t, a.url)
  await subscribe(client, 'chat_batch')
  const received = recordEvents(client)

  await redis.set(`${env.BRIDGE_REDIS_PREFIX}idempotency:batch-2`, 'pending', { expiration: { type: 'EX', value: PENDING_CLAIM_SECONDS } })
  const events = ['batch-1', 'batch-2', 'batch-3'].map((uuid) => ({ type: 'new-message', room: 'chat_batch', uuid, message: { text: uuid } }))
  const refused = await postJson(a.url, '/api/sms/batch', { events })
  t.equal(refused.status, 503)
  t.equal(refused.body.code, 'BRIDGE_PUBLISH_PENDING')
  t.equal(await redis.exists([`${env.BRIDGE_REDIS_PREFIX}idempotency:batch-1`, `${env.BRIDGE_REDIS_PREFIX}idempotency:batch-3`]), 0, 'its other claims were given back')

  await redis.del(`${env.BRIDGE_REDIS_PREFIX}idempotency:batch-2`)
  const accepted = await postJson(a.url, '/api/sms/batch', { events: [...events, events[0]] })
  t.equal(accepted.status, 202)
  t.same((accepted.body.results as Array<{ duplicate?: boolean }>).map(({ duplicate }) => duplicate === true), [false, false, false, true], 'answered per event')
  await waitFor(() => received.length === 3, 'the batch to arrive')
  t.same(received.map(({ data }) => (data as { uuid: string }).uuid), ['batch-1', 'batch-2', 'batch-3'])
})

t.test('a signature left pending follows the same rule: 503 with Retry-After, then accepted once, then a replay', async (t) => {
  const env = { ...securedEnv(), ...redisClusterEnv(cluster) }
  const redis = await clusterClient(t, cluster)
  const a = await startBridge(t, env)
  const body = JSON.stringify({ room: 'chat_signed', message: { text: 'signed' } })
  const headers = signedHeaders(body)
  // The key the publisher claims for a signature (plugins/app/publisher.ts).
  const key = `${env.BRIDGE_REDIS_PREFIX}idempotency:${`signature:${headers['x-bridge-signature']}`.padEnd(129, '.')}`
  await redis.set(key, 'pending', { expiration: { type: 'EX', value: PENDING_CLAIM_SECONDS } })
  const refused = await postRaw(a.url, '/api/sms/new-message', body, headers)
  t.equal(refused.status, 503)
  t.equal(refused.body.code, 'BRIDGE_PUBLISH_PENDING')
  t.ok(Number(refused.headers.get('retry-after')) >= 1, 'with Retry-After')

  // As when the pending claim expires.
  await redis.del(key)
  t.equal((await postRaw(a.url, '/api/sms/new-message', body, headers)).status, 202)
  t.equal(await redis.get(key), '1', 'the signature is confirmed')
  const replay = await postRaw(a.url, '/api/sms/new-message', body, headers)
  t.equal(replay.status, 200, 'a replay is a duplicate')
  t.equal(replay.body.duplicate, true)
})

t.test('publishes in flight on a killed node, retried on another, are each delivered, and a duplicate only when delivered', async (t) => {
  // The queue retries as told by Retry-After.
  await retriedAfterCrashes(t, redisClusterEnv(cluster), async (url, body) => {
    const { answer, refusals } = await postHonouringRetryAfter(url, '/api/sms/new-message', body)
    return { status: answer.status, refused: refusals.length }
  })
})
