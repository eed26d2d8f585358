// A connection's listener tables are compacted once its handlers have run, and it behaves as
// before: the same listeners in the same order, events delivered, every way of ending it ends it
// once (socket.io's disconnect, Engine.IO's count of clients).
import { EventEmitter } from 'node:events'
import { setImmediate as nextMacrotask } from 'node:timers/promises'
import t, { type Test } from 'tap'
import type { Socket } from 'socket.io'
import { compactListenerProblems, compactTable, decoderProblems } from '../../../../plugins/patches/compact-listeners.ts'
import { connectClient, nextEvent, postJson, startBridge, subscribe } from '../../../helpers/bridge.ts'

type Table = Record<string | symbol, unknown>
interface Emitter extends EventEmitter { _events: Table }
interface Connection extends Emitter {
  transport: Emitter & { name: string, socket: Emitter & { _socket: Emitter, _receiver: Emitter } }
  cleanupFn: unknown[]
}

function emittersOf (socket: Socket): Record<string, Emitter> {
  const conn = socket.conn as unknown as Connection
  return { 'socket.io socket': socket as unknown as Emitter, 'engine.io socket': conn, transport: conn.transport, 'ws socket': conn.transport.socket }
}

/** Each event's listeners as `emit` calls them (once wrappers unwrapped), by emitter. */
function listenersOf (socket: Socket): Record<string, Record<string, unknown[]>> {
  return Object.fromEntries(Object.entries(emittersOf(socket)).map(([name, emitter]) => [
    name,
    Object.fromEntries(emitter.eventNames().map((event) => [String(event), emitter.listeners(event)]))
  ]))
}

async function connectedSocket (t: Test, options: Parameters<typeof connectClient>[2] = {}) {
  const bridge = await startBridge(t)
  const before = new Promise<{ socket: Socket, listeners: ReturnType<typeof listenersOf> }>((resolve) => {
    // Registered last: runs after the bridge's connection handlers, before the compaction.
    bridge.fastify.io.on('connection', (socket) => resolve({ socket, listeners: listenersOf(socket) }))
  })
  const client = await connectClient(t, bridge.url, options)
  t.same(await subscribe(client, 'chat_1'), { ok: true, room: 'chat_1' })
  await nextMacrotask()
  return { ...bridge, client, ...await before }
}

t.test('a websocket connection\'s listener tables are plain objects holding the same listeners, with no once wrapper left', async (t) => {
  const { socket, listeners } = await connectedSocket(t)
  // lean-connections removed the two listeners only a websocket handshake uses.
  const { headers, ...transport } = listeners.transport ?? {}
  t.equal(headers?.length, 1)
  const expected = { ...listeners, transport, 'ws socket': { ...listeners['ws socket'], error: listeners['ws socket']?.error?.filter((listener) => (listener as () => void).name !== 'onUpgradeError') } }
  t.same(listenersOf(socket), expected, 'every emitter has the same listeners, in the same order')
  for (const [name, emitter] of Object.entries(emittersOf(socket))) {
    t.not(Object.getPrototypeOf(emitter._events), null, `${name}: the table has a prototype (V8 lays it out inline)`)
    t.equal(emitter._events.toString, undefined, `${name}: the table inherits nothing`)
  }
  const conn = socket.conn as unknown as Connection
  for (const emitter of [conn, conn.transport, conn.transport.socket]) {
    for (const event of ['close', 'error']) t.same(emitter.rawListeners(event), emitter.listeners(event), `no once wrapper of ${event}`)
  }
  t.same(compactListenerProblems(conn), [
    'Node\'s EventEmitter keeps the listeners of Engine.IO\'s socket, its transport and the ws socket in `_events`, an object without prototype',
    'engine.io listens to its transport\'s `close` once'
  ], 'what the start-time check looks for is gone once compacted')
})

t.test('a compacted connection receives events and ends once, whichever side ends it', async (t) => {
  const { fastify, url, client, socket } = await connectedSocket(t)
  const received = nextEvent(client, 'new_message')
  await postJson(url, '/api/sms/new-message', { room: 'chat_1', message: { text: 'after compaction' } })
  t.match(await received, { room: 'chat_1', message: { text: 'after compaction' } })

  let disconnects = 0
  socket.on('disconnect', () => { disconnects++ })
  const closed = new Promise((resolve) => socket.conn.once('close', resolve))
  client.disconnect()
  await closed
  await nextMacrotask()
  t.equal(disconnects, 1, 'one disconnect')
  t.equal(fastify.io.engine.clientsCount, 0, 'Engine.IO counted the client out once')

  // The server ending a connection, and a transport error, end it the same way.
  const second = await connectClient(t, url)
  await subscribe(second, 'chat_1')
  await nextMacrotask()
  const [serverSide] = fastify.io.sockets.sockets.values()
  const reason = new Promise((resolve) => serverSide?.once('disconnect', resolve))
  serverSide?.disconnect(true)
  t.equal(await reason, 'server namespace disconnect')

  const third = await connectClient(t, url)
  await subscribe(third, 'chat_1')
  await nextMacrotask()
  const [broken] = fastify.io.sockets.sockets.values()
  const conn = broken?.conn as unknown as Connection
  const transportError = new Promise((resolve) => broken?.once('disconnect', resolve))
  conn.transport.socket.emit('error', new Error('a broken frame'))
  // A second error after the first closed it finds the connection closed and is swallowed.
  conn.transport.socket.emit('error', new Error('another broken frame'))
  t.equal(await transportError, 'transport error')
  await nextMacrotask()
  t.equal(fastify.io.engine.clientsCount, 0, 'every connection counted out once')
})

t.test('a connection that upgrades from polling to websocket is compacted after the upgrade', async (t) => {
  const { fastify, url } = await startBridge(t)
  const client = await connectClient(t, url, { transports: ['polling', 'websocket'] })
  if (client.io.engine.transport.name !== 'websocket') {
    await new Promise((resolve) => client.io.engine.once('upgrade', resolve))
  }
  await subscribe(client, 'chat_1')
  await nextMacrotask()
  const [socket] = fastify.io.sockets.sockets.values()
  const conn = socket?.conn as unknown as Connection
  t.equal(conn.transport.name, 'websocket')
  t.not(Object.getPrototypeOf(conn.transport._events), null, 'the websocket transport\'s table is compacted')
  t.not(Object.getPrototypeOf(conn.transport.socket._events), null, 'the ws socket\'s table is compacted')
  t.same(conn.transport.rawListeners('close'), conn.transport.listeners('close'), 'no once wrapper on the transport')
  const received = nextEvent(client, 'new_message')
  await postJson(url, '/api/sms/new-message', { room: 'chat_1', message: { text: 'after upgrade' } })
  t.match(await received, { message: { text: 'after upgrade' } })
})

t.test('compactTable keeps listeners, order and emit, and unwraps once wrappers of the events named only', async (t) => {
  const emitter = new EventEmitter() as Emitter
  const calls: string[] = []
  emitter.on('data', () => calls.push('data 1'))
  emitter.on('data', () => calls.push('data 2'))
  emitter.once('close', () => calls.push('close'))
  emitter.once('end', () => calls.push('end'))
  const before = emitter.eventNames().map((event) => [event, emitter.listeners(event)])
  compactTable(emitter as Parameters<typeof compactTable>[0], new Set(['close']))
  t.same(emitter.eventNames().map((event) => [event, emitter.listeners(event)]), before)
  t.same(emitter.rawListeners('close'), emitter.listeners('close'), 'close unwrapped')
  t.not(emitter.rawListeners('end')[0], emitter.listeners('end')[0], 'end keeps its once wrapper')
  emitter.emit('data')
  emitter.emit('close')
  emitter.emit('end')
  emitter.emit('end')
  t.same(calls, ['data 1', 'data 2', 'close', 'end'])
  t.equal(emitter.emit('toString'), false, 'an event nobody listens to has no listener, whatever its name')
  // A listener that removes itself while an emit iterates the (copied) array: the next one still runs.
  const first = (): void => { calls.push('first'); emitter.removeListener('many', first) }
  emitter.on('many', first)
  emitter.on('many', () => calls.push('second'))
  emitter.on('many', () => calls.push('third'))
  compactTable(emitter as Parameters<typeof compactTable>[0])
  emitter.emit('many')
  t.same(calls.slice(-3), ['first', 'second', 'third'], 'every listener of the emit runs')
  emitter.on('later', () => calls.push('later'))
  emitter.removeAllListeners('data')
  emitter.emit('later')
  t.same(calls.at(-1), 'later', 'listeners added and removed after compaction work')
  compactTable(undefined)
  compactTable({})
})

t.test('the internals compact-listeners relies on are reported when missing', async (t) => {
  const plain = Object.assign(new EventEmitter(), { transport: Object.assign(new EventEmitter(), { socket: new EventEmitter() }) })
  t.same(compactListenerProblems(plain), [
    'engine.io Socket#cleanupFn is an array',
    'engine.io listens to its transport\'s `close` once'
  ], 'Node\'s tables are there; Engine.IO\'s are not')
  t.same(compactListenerProblems({}).length, 3, 'a connection without emitters is reported')
  t.same(decoderProblems({ client: {} } as unknown as Socket), ['socket.io-parser\'s Decoder keeps its listeners in `_callbacks`'])
})
