// The fan-out fast path: every subscribed socket gets every event once, in order, whether
// its frame was written directly or through Engine.IO (polling, backed-up sockets).
import type { Duplex } from 'node:stream'
import t from 'tap'
import { fastPathProblems, type EngineConnection } from '../../../../plugins/patches/broadcast-fast-path.ts'
import { connectClient, postJson, recordEvents, startBridge, subscribe, type TestClient } from '../../../helpers/bridge.ts'

/** The uuids of the `new_message` events a recording holds, in arrival order. */
function uuids (received: Array<{ event: string, data: unknown }>): string[] {
  return received.filter(({ event }) => event === 'new_message').map(({ data }) => (data as { uuid: string }).uuid)
}

/** Resolves when the client receives an event with this uuid; listen before publishing. */
function arrival (client: TestClient, uuid: string, ms = 30_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.offAny(listener)
      reject(new Error(`no event ${uuid} within ${ms} ms`))
    }, ms)
    function listener (_event: string, data: unknown) {
      if ((data as { uuid?: string } | undefined)?.uuid !== uuid) return
      clearTimeout(timer)
      client.offAny(listener)
      resolve()
    }
    client.onAny(listener)
  })
}

function batch (from: number, count: number, room = 'chat_1') {
  return {
    events: Array.from({ length: count }, (_, i) => ({ type: 'new-message', room, message: { n: from + i }, uuid: `u-${from + i}` }))
  }
}

t.test('a burst reaches every socket of the room once each, in order, and no one else', async (t) => {
  const { url } = await startBridge(t)
  const members = await Promise.all([1, 2, 3].map(() => connectClient(t, url)))
  for (const member of members) await subscribe(member, 'chat_1')
  const outsider = await connectClient(t, url)
  await subscribe(outsider, 'chat_2')
  const recordings = members.map(recordEvents)
  const outsiderRecording = recordEvents(outsider)
  const lastArrived = Promise.all(members.map((member) => arrival(member, 'last')))

  // Three batches in flight at once: 300 events emitted in three synchronous bursts.
  const answers = await Promise.all([0, 100, 200].map((from) => postJson(url, '/api/sms/batch', batch(from, 100))))
  t.same(answers.map(({ status }) => status), [202, 202, 202])
  const last = await postJson(url, '/api/sms/new-message', { room: 'chat_1', message: {}, uuid: 'last' })
  t.equal(last.status, 202)
  await lastArrived

  for (const recording of recordings) {
    const got = uuids(recording)
    t.equal(got.length, 301, 'every event once')
    t.equal(new Set(got).size, 301, 'no duplicates')
    // Within a batch, items arrive in order.
    for (const from of [0, 100, 200]) {
      const positions = Array.from({ length: 100 }, (_, i) => got.indexOf(`u-${from + i}`))
      t.same(positions, [...positions].sort((a, b) => a - b), `batch from ${from} in order`)
    }
  }
  t.same(outsiderRecording, [], 'a socket of another room got nothing')
})

t.test('a polling client in the same room gets the same events, in the same order', async (t) => {
  const { url } = await startBridge(t)
  const websocket = await connectClient(t, url)
  const polling = await connectClient(t, url, { transports: ['polling'] })
  t.equal(polling.io.engine.transport.name, 'polling')
  await subscribe(websocket, 'chat_1')
  await subscribe(polling, 'chat_1')
  const viaWebsocket = recordEvents(websocket)
  const viaPolling = recordEvents(polling)
  const done = Promise.all([websocket, polling].map((client) => arrival(client, 'u-49')))

  t.equal((await postJson(url, '/api/sms/batch', batch(0, 50))).status, 202)
  await done

  const expected = Array.from({ length: 50 }, (_, i) => `u-${i}`)
  t.same(uuids(viaWebsocket), expected)
  t.same(uuids(viaPolling), expected)
})

/** The client's TCP socket under its websocket, to stop reading from it for a while. */
function tcpSocketOf (client: TestClient): Duplex {
  const transport = client.io.engine.transport as unknown as { ws: { _socket: Duplex } }
  return transport.ws._socket
}

t.test('a socket that stops reading gets everything in order once it reads again', async (t) => {
  // Not cut loose while it holds back 6 MB (that is BRIDGE_MAX_BUFFERED_BYTES's test): here the
  // frames written directly and through Engine.IO must keep their order.
  const { fastify, url } = await startBridge(t, { BRIDGE_MAX_BUFFERED_BYTES: '0' })
  const slow = await connectClient(t, url)
  const fast = await connectClient(t, url)
  await subscribe(slow, 'chat_1')
  await subscribe(fast, 'chat_1')
  const slowRecording = recordEvents(slow)
  const fastRecording = recordEvents(fast)
  const allArrived = Promise.all([slow, fast].map((client) => arrival(client, 'u-149', 60_000)))

  tcpSocketOf(slow).pause()
  // 40 KB per event, 150 events: far more than the kernel buffers between the two ends.
  const text = 'x'.repeat(40 * 1024)
  for (let n = 0; n < 150; n++) {
    const { status } = await postJson(url, '/api/sms/new-message', { room: 'chat_1', message: { n, text }, uuid: `u-${n}` })
    t.equal(status, 202)
  }
  const slowOnServer = [...fastify.io.sockets.sockets.values()].find((socket) => socket.id === slow.id)
  const serverTcp = (slowOnServer?.conn.transport as unknown as { socket: { _socket: Duplex } }).socket._socket
  t.ok(serverTcp.writableLength > 0, 'the server had to hold back data for the slow socket')

  tcpSocketOf(slow).resume()
  await allArrived

  const expected = Array.from({ length: 150 }, (_, n) => `u-${n}`)
  t.same(uuids(slowRecording), expected, 'the slow socket got every event in order')
  t.same(uuids(fastRecording), expected, 'the other socket was not held back or disturbed')
})

t.test('a broadcast does not overtake packets Engine.IO still holds for a socket', async (t) => {
  const { fastify, url } = await startBridge(t)
  const client = await connectClient(t, url)
  await subscribe(client, 'chat_1')
  const received = recordEvents(client)
  const done = arrival(client, 'c')

  // In one tick: the first direct emit is written, the second waits in Engine.IO's buffer
  // until that write completes, and the broadcast must queue behind it.
  const [socket] = fastify.io.sockets.sockets.values()
  const event = (uuid: string) => ({ room: 'chat_1', message: {}, uuid })
  socket?.emit('new_message', event('a'))
  socket?.emit('new_message', event('b'))
  // Room chat_1 is the channel private-chat_1.
  const delivered = fastify.transport.deliver([{ channel: 'private-chat_1', event: 'new_message', payload: event('c') }])
  await Promise.all([delivered, done])

  t.same(uuids(received), ['a', 'b', 'c'])
})

t.test('the engine.io and ws internals the fast path relies on are all there', async (t) => {
  const { fastify, url } = await startBridge(t)
  const connections: EngineConnection[] = []
  fastify.io.engine.on('connection', (connection: EngineConnection) => connections.push(connection))
  await connectClient(t, url)
  const [connection] = connections
  t.ok(connection, 'a websocket connection')
  // A failure here names the internal an upgrade of engine.io or ws changed: review
  // plugins/patches/broadcast-fast-path.ts before moving the pinned versions.
  t.same(fastPathProblems(connection as EngineConnection), [], 'no internal is missing')
  t.equal(connection?.write.name, 'writeBroadcastFrame', 'and the patch is on')
})

t.test('a connection without one of those internals is reported', async (t) => {
  const engineSocket = { write () { return this } }
  const connection = Object.assign(Object.create(engineSocket) as object, {
    readyState: 'open',
    writeBuffer: [],
    transport: { name: 'websocket', writable: true, socket: { readyState: 1, _socket: { writableLength: 0 } } }
  })
  t.same(fastPathProblems(connection as unknown as EngineConnection), ['ws WebSocket#_sender.sendFrame is a function'])
})
