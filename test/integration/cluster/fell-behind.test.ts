// A node that falls behind the cluster's stream (stopped with SIGSTOP, as a long GC pause or a
// frozen VM would) tells its clients `recovered === false` when events they missed are gone
// from Redis (past BRIDGE_RECOVERY_WINDOW or past the entry cap), closes the connections that
// stayed open through it (they may have missed them too), counts and logs it once, and recovers
// every event when it comes back within the window.
import t, { type Test } from 'tap'
import { connectClient, freePort, metricValue, nextEvent, postJson, recordEvents, startBridge, startServer, subscribe, type TestClient } from '../../helpers/bridge.ts'
import { eventsArrived, reconnect } from '../../helpers/recovery.ts'
import { clusterEnv, redisClient, waitFor } from '../../helpers/redis.ts'

t.setTimeout(180_000)

type Env = Record<string, string>

/** `count` publishes into `room` numbered from `from`, `inFlight` at a time; answers how many were accepted. */
async function publishMany (url: string, room: string, from: number, count: number, inFlight = 20): Promise<number> {
  let next = from
  let accepted = 0
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next < from + count) {
      const n = next++
      if ((await postJson(url, '/api/sms/new-message', { room, message: { n } })).status === 202) accepted += 1
    }
  }))
  return accepted
}

/** A node in its own process (so it can be stopped), a client of it in `room` that got event 0. */
async function stoppableNode (t: Test, env: Env, publisherUrl: string, room: string) {
  const port = await freePort()
  const node = startServer({ ...env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info' })
  t.teardown(() => { node.child.kill('SIGCONT'); node.child.kill('SIGKILL') })
  await node.logLine('Server listening')
  const url = `http://127.0.0.1:${port}`
  const client = await connectClient(t, url)
  await subscribe(client, room)
  const first = nextEvent(client, 'new_message')
  t.equal((await postJson(publisherUrl, '/api/sms/new-message', { room, message: { n: 0 } })).status, 202)
  await first
  return { node, url, client }
}

/**
 * Stops the node, runs `meanwhile`, and has the client reconnect while the node is still
 * stopped: once it runs again the node handles the old connection's end, the reconnect and
 * the entries it has not read, in whatever order they come.
 */
async function stoppedWhile (node: ReturnType<typeof startServer>, client: TestClient, meanwhile: () => Promise<void>): Promise<void> {
  node.child.kill('SIGSTOP')
  await meanwhile()
  const connected = new Promise<void>((resolve, reject) => {
    client.once('connect', resolve)
    client.once('connect_error', reject)
  })
  client.io.engine.close()
  client.connect()
  node.child.kill('SIGCONT')
  await connected
}

async function unrecoverable (url: string): Promise<number> {
  const response = await fetch(`${url}/metrics`)
  return metricValue(await response.text(), 'bridge_recovery_unrecoverable_total')
}

function numbers (received: Array<{ event: string, data: unknown }>): number[] {
  return received.filter(({ event }) => event === 'new_message').map(({ data }) => (data as { message: { n: number } }).message.n)
}

t.test('a node stopped past the recovery window tells its client recovered === false, counts and logs it', async (t) => {
  const env = { ...clusterEnv(t), BRIDGE_RECOVERY_WINDOW: '3' }
  const a = await startBridge(t, env)
  const { node, url, client } = await stoppableNode(t, env, a.url, 'chat_window')
  const received = recordEvents(client)
  // A second client of the node keeps its connection through the pause.
  const stayed = await connectClient(t, url)
  await subscribe(stayed, 'chat_window')
  const stayedDropped = new Promise((resolve) => stayed.once('disconnect', resolve))

  const redis = await redisClient(t)
  await stoppedWhile(node, client, async () => {
    t.equal(await publishMany(a.url, 'chat_window', 1, 300), 300)
    // Node A's heartbeats trim what is older than the window (by whole nodes of the stream: enough entries to fill some).
    await waitFor('the first events to be trimmed from the stream', async () => {
      const entries = await redis.xRange(`${env.BRIDGE_REDIS_PREFIX}bus`, '-', '+')
      return !(entries ?? []).some(({ message }) => String(message.p0).includes('"n":1}'))
    })
  })
  t.equal(client.recovered, false, 'told it was not recovered')
  t.same(numbers(received), [], 'nothing of the stretch it missed arrives as if recovered')
  const line = await node.logLine('cluster bus: this node fell behind')
  t.match(line, { level: 40 })
  await stayedDropped
  t.pass('a client that stayed connected is disconnected: it may have missed events too')
  await reconnect(stayed)
  t.equal(stayed.recovered, false, 'and told so when it reconnects')
  t.equal(await unrecoverable(url), 2, 'both counted in bridge_recovery_unrecoverable_total')
})

t.test('a node stopped while more than the entry cap is appended tells its client recovered === false', async (t) => {
  const env = { ...clusterEnv(t), BRIDGE_REDIS_STREAM_MAX_ENTRIES: '1000' }
  const a = await startBridge(t, env)
  const { node, url, client } = await stoppableNode(t, env, a.url, 'chat_cap')
  const received = recordEvents(client)

  await stoppedWhile(node, client, async () => {
    t.equal(await publishMany(a.url, 'chat_cap', 1, 3000), 3000)
  })
  t.equal(client.recovered, false, 'told it was not recovered')
  t.notOk(numbers(received).includes(1), 'the first missed event, trimmed away, is not passed over silently')
  t.equal(await unrecoverable(url), 1, 'counted in bridge_recovery_unrecoverable_total')
})

t.test('a node stopped within the window recovers its client every event it missed', async (t) => {
  const env = { ...clusterEnv(t), BRIDGE_RECOVERY_WINDOW: '60' }
  const a = await startBridge(t, env)
  const { node, url, client } = await stoppableNode(t, env, a.url, 'chat_short')
  const received = recordEvents(client)

  await stoppedWhile(node, client, async () => {
    t.equal(await publishMany(a.url, 'chat_short', 1, 50, 1), 50)
  })
  t.equal(client.recovered, true, 'recovered')
  await eventsArrived(client, received, 50)
  const after = nextEvent(client, 'new_message')
  await postJson(a.url, '/api/sms/new-message', { room: 'chat_short', message: { n: 51 } })
  await after
  t.same(numbers(received), [...Array.from({ length: 50 }, (_, i) => i + 1), 51], 'every missed event, once, then new ones')
  t.equal(await unrecoverable(url), 0)
})
