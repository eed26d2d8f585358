// Connection state recovery in a cluster: a client dropped from one node and sent to another
// by the load balancer gets its rooms and the events it missed, through Redis; so does one whose
// node was restarted meanwhile, stopped gracefully or killed.
import { once } from 'node:events'
import t, { type Test } from 'tap'
import { captureLogs, connectClient, freePort, nextEvent, postJson, recordEvents, startBridge, startServer, subscribe, type TestClient } from '../../helpers/bridge.ts'
import { dropConnection, eventsArrived, reconnect } from '../../helpers/recovery.ts'
import { loadBalancer } from '../../helpers/load-balancer.ts'
import { clusterEnv } from '../../helpers/redis.ts'
import { userIdFromHandshake } from '../../helpers/user-id.ts'

// Several bridges (or many reconnects) on a machine that may be busy: more than the default minute.
t.setTimeout(180_000)

function numbers (received: Array<{ event: string, data: unknown }>) {
  return received.map(({ event, data }) => [event, (data as { message: { n: number } }).message.n])
}

t.test('a client back on the same node gets the missed events in order and keeps its rooms', async (t) => {
  const env = clusterEnv(t)
  const a = await startBridge(t, env)
  const b = await startBridge(t, env)
  const client = await connectClient(t, b.url)
  await subscribe(client, 'chat_1')
  const received = recordEvents(client)
  const first = nextEvent(client, 'new_message')
  await postJson(a.url, '/api/sms/new-message', { room: 'chat_1', message: { n: 0 } })
  await first

  await dropConnection(client, b.fastify)
  for (const n of [1, 2, 3]) {
    const publisher = n % 2 === 0 ? b : a
    t.equal((await postJson(publisher.url, '/api/sms/new-message', { room: 'chat_1', message: { n } })).status, 202)
  }
  await postJson(a.url, '/api/sms/new-message', { room: 'other_room', message: { n: -1 } })

  const missed = eventsArrived(client, received, 4)
  await reconnect(client)
  t.equal(client.recovered, true, 'socket.recovered is true')
  await missed

  const after = nextEvent(client, 'new_message')
  await postJson(a.url, '/api/sms/new-message', { room: 'chat_1', message: { n: 4 } })
  await after
  t.same(numbers(received), [0, 1, 2, 3, 4].map((n) => ['new_message', n]))
})

t.test('a client sent to another node recovers there: rooms, data and missed events', async (t) => {
  const env = clusterEnv(t)
  const a = await startBridge(t, env)
  const b = await startBridge(t, env)
  userIdFromHandshake(a.fastify)
  userIdFromHandshake(b.fastify)
  const balancer = await loadBalancer(t, b.url)
  const client = await connectClient(t, balancer.url, { auth: { sub: 'alice' } })
  t.ok(b.fastify.io.of('/').sockets.has(client.id ?? ''), 'node B serves the client first')
  await subscribe(client, 'chat_2')
  const received = recordEvents(client)

  balancer.pointTo(a.url)
  await dropConnection(client, b.fastify)
  for (const n of [1, 2, 3]) {
    const publisher = n % 2 === 0 ? a : b
    t.equal((await postJson(publisher.url, '/api/sms/new-message', { room: 'chat_2', message: { n } })).status, 202)
  }

  const missed = eventsArrived(client, received, 3)
  await reconnect(client)
  t.equal(client.recovered, true, 'socket.recovered is true')
  t.ok(a.fastify.io.of('/').sockets.has(client.id ?? ''), 'node A serves it now, under the same id')
  await missed

  const after = nextEvent(client, 'new_message')
  await postJson(b.url, '/api/sms/new-message', { room: 'chat_2', message: { n: 4 } })
  await after
  t.same(numbers(received), [1, 2, 3, 4].map((n) => ['new_message', n]), 'missed events in order, then new ones')
  const info = await b.fastify.inject({ method: 'GET', url: '/api/rooms/chat_2' })
  t.same(info.json(), { room: 'chat_2', subscribers: 1, users: 1 }, 'counted once, on its new node, with its user')
})

/** A node as its own process on a fixed port, to be stopped (or killed) and started again there. */
async function nodeOnPort (t: Test, env: ReturnType<typeof clusterEnv>) {
  const port = await freePort()
  return {
    url: `http://127.0.0.1:${port}`,
    async start () {
      const node = startServer({ ...env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info' })
      t.teardown(() => { node.child.kill('SIGKILL') })
      await node.logLine('Server listening')
      return node
    }
  }
}

/** The client subscribes to `room` and gets an event published on `url`; it records what follows. */
async function following (client: TestClient, url: string, room: string) {
  await subscribe(client, room)
  const before = nextEvent(client, 'new_message')
  await postJson(url, '/api/sms/new-message', { room, message: { n: 0 } })
  await before
  return recordEvents(client)
}

/** Events 1–3 published on `url` while the client is away, each answered 202. */
async function publishedMeanwhile (t: Test, url: string, room: string): Promise<void> {
  for (const n of [1, 2, 3]) t.equal((await postJson(url, '/api/sms/new-message', { room, message: { n } })).status, 202)
}

/** After its missed events, the client gets a new one published on `url`: 1, 2, 3 then 4, each once. */
async function thenNew (t: Test, client: TestClient, received: ReturnType<typeof recordEvents>, url: string, room: string): Promise<void> {
  const after = nextEvent(client, 'new_message')
  await postJson(url, '/api/sms/new-message', { room, message: { n: 4 } })
  await after
  t.same(numbers(received), [1, 2, 3, 4].map((n) => ['new_message', n]), 'the missed events once, in order, then new ones')
}

t.test('a client back on its node, restarted on the same port meanwhile, recovers what it missed', async (t) => {
  const env = clusterEnv(t)
  const a = await startBridge(t, env)
  const b = await nodeOnPort(t, env)
  const first = await b.start()
  const client = await connectClient(t, b.url)
  const received = await following(client, a.url, 'chat_restart')

  // A deploy: node B stops gracefully, events go on meanwhile, B starts again where it was.
  const dropped = new Promise((resolve) => client.once('disconnect', resolve))
  first.child.kill('SIGTERM')
  await Promise.all([dropped, once(first.child, 'exit')])
  await publishedMeanwhile(t, a.url, 'chat_restart')
  await b.start()

  const missed = eventsArrived(client, received, 3)
  await reconnect(client)
  t.equal(client.recovered, true, 'recovered on the restarted node')
  await missed
  await thenNew(t, client, received, a.url, 'chat_restart')
})

/** Kills the client's node as a crash would, and resolves once both the client and the process saw it. */
async function crash (client: TestClient, node: ReturnType<typeof startServer>): Promise<void> {
  const dropped = new Promise((resolve) => client.once('disconnect', resolve))
  node.child.kill('SIGKILL')
  await Promise.all([dropped, once(node.child, 'exit')])
}

const DECLARED_DEAD = 'cluster node stopped sending heartbeats: its members leave'

t.test('a client back on its node, killed (SIGKILL) and restarted on the same port after it was declared dead, recovers what it missed', async (t) => {
  const env = clusterEnv(t)
  const logs = captureLogs()
  const a = await startBridge(t, { ...env, LOG_LEVEL: 'warn' }, { logStream: logs.stream })
  const b = await nodeOnPort(t, env)
  const first = await b.start()
  const client = await connectClient(t, b.url)
  const received = await following(client, a.url, 'chat_crash')

  // A crash: no session is saved; events go on on node A, which declares B dead; B starts again.
  await crash(client, first)
  await publishedMeanwhile(t, a.url, 'chat_crash')
  await logs.line(DECLARED_DEAD)
  await b.start()

  const missed = eventsArrived(client, received, 3)
  await reconnect(client)
  t.equal(client.recovered, true, 'recovered on the restarted node')
  await missed
  await thenNew(t, client, received, a.url, 'chat_crash')
})

t.test('a client back on its node, killed (SIGKILL) and restarted before it could be declared dead, recovers what it missed', async (t) => {
  const env = clusterEnv(t)
  // Node A as a process too, so that it can be paused: a paused node declares nobody dead, so
  // the client is back before its old node is, however long the restart takes on this machine.
  const a = await nodeOnPort(t, env)
  const aProcess = await a.start()
  t.teardown(() => { aProcess.child.kill('SIGCONT') })
  const b = await nodeOnPort(t, env)
  const first = await b.start()
  const client = await connectClient(t, b.url)
  const received = await following(client, a.url, 'chat_quick_crash')

  await crash(client, first)
  await publishedMeanwhile(t, a.url, 'chat_quick_crash')
  aProcess.child.kill('SIGSTOP')
  await b.start()
  const missed = eventsArrived(client, received, 3)
  await reconnect(client)
  t.equal(client.recovered, true, 'recovered on the restarted node')
  await missed

  // Node A goes on and declares the old node dead: the restored socket is not affected.
  aProcess.child.kill('SIGCONT')
  await aProcess.logLine(DECLARED_DEAD)
  await thenNew(t, client, received, a.url, 'chat_quick_crash')
})
