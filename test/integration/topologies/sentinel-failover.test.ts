// A Sentinel failover under two bridges: the primary dies (or the sentinels are asked to fail
// over), and both bridges serve again within 15 s of it, without a restart; events answered 202
// before it are delivered, or the clients that missed them are told they were not recovered.
import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { captureLogs, connectClient, postJson, recordEvents, startBridge, subscribe, waitFor, type TestClient } from '../../helpers/bridge.ts'
import { sentinelEnv, startSentinelSet, type RedisProcess, type SentinelSet } from '../../helpers/redis-topologies.ts'

t.setTimeout(180_000)

const SERVING_AGAIN_WITHIN_MS = 15_000

async function ready (fastify: FastifyInstance): Promise<boolean> {
  return (await fastify.inject({ method: 'GET', url: '/ready' })).statusCode === 200
}

function numbersOf (received: Array<{ event: string, data: unknown }>): number[] {
  return received.filter(({ event }) => event === 'new_message').map(({ data }) => (data as { message: { n: number } }).message.n)
}

async function failoverUnderTwoBridges (t: Test, fail: (set: SentinelSet) => Promise<RedisProcess>): Promise<void> {
  const set = await startSentinelSet(t)
  const env = sentinelEnv(set)
  const logs = captureLogs()
  const a = await startBridge(t, { ...env, LOG_LEVEL: 'info' }, { logStream: logs.stream })
  const b = await startBridge(t, env)
  const clients: TestClient[] = [await connectClient(t, a.url), await connectClient(t, b.url)]
  for (const client of clients) await subscribe(client, 'chat_1')
  const received = clients.map((client) => recordEvents(client))

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

  const failedAt = Date.now()
  const before = await set.primary()
  const after = await fail(set)
  t.not(after.port, before.port, 'the sentinels promoted the replica')
  await waitFor(async () => await ready(a.fastify) && await ready(b.fastify), 'both bridges ready again', SERVING_AGAIN_WITHIN_MS)
  const acceptedAfter = accepted.length
  await waitFor(() => accepted.length > acceptedAfter + 5, 'publishes accepted after the failover', SERVING_AGAIN_WITHIN_MS)
  const last = accepted.at(-1) as number
  await waitFor(() => received.every((seen) => numbersOf(seen).includes(last)), 'an event published after the failover on both nodes', SERVING_AGAIN_WITHIN_MS)
  const servingAfterMs = Date.now() - failedAt
  t.ok(servingAfterMs < SERVING_AGAIN_WITHIN_MS, `serving again ${servingAfterMs} ms after the failover began`)
  publishing.on = false
  await publisher

  // The clients stay connected through it, so none is told anything: every accepted event must arrive, once.
  for (const [index, seen] of received.entries()) {
    const numbers = numbersOf(seen)
    t.same(numbers, [...new Set(numbers)], `client ${index}: no event twice`)
    t.same(accepted.filter((n) => !numbers.includes(n)), [], `client ${index}: every accepted event arrived`)
  }
  t.ok(clients.every((client) => client.connected), 'clients stayed connected')
  t.ok(logs.lines.some((line) => line.msg === 'cluster mode: the sentinels named a new Redis primary; the bridge moves to it'), 'the move is logged')
}

t.test('the primary is killed: the bridges serve again within 15 s, and every accepted event arrives', async (t) => {
  await failoverUnderTwoBridges(t, (set) => set.killPrimary())
})

t.test('the sentinels are asked to fail over: the same', async (t) => {
  await failoverUnderTwoBridges(t, (set) => set.failover())
})
