// Keeps each idle connection's listener tables small. Node's EventEmitter keeps listeners in an
// object without prototype (`_events`), which V8 holds as a hash table of some 160 to 450 bytes;
// a connection has four such tables (socket.io's socket, Engine.IO's socket, its websocket
// transport, the ws socket) and holds them for hours. Once the connection handlers have run (and
// again after a polling connection's upgrade to websocket), each table is copied into a plain
// object whose prototype inherits nothing, which V8 lays out with its properties inline (a tenth
// of the size), and arrays of listeners are copied to their exact length (an array grown by one
// push reserves seventeen slots). `once` listeners of `close` and `error` on Engine.IO's socket,
// its transport and the ws socket become the listeners they wrap: each of these emitters emits
// `close` once in its life, and Engine.IO's `error` listeners close the connection, which
// removes them (a second call finds it closed), so the wrapper, its closure and its state go.
// Patches `_events` of those emitters and of the raw TCP socket and ws's receiver, Engine.IO's
// `Socket#cleanupFn`, and socket.io-parser's `Decoder#_callbacks`, checked at start.
import type { EventEmitter } from 'node:events'
import fp from 'fastify-plugin'
import type { Socket } from 'socket.io'

type Listener = (...args: unknown[]) => unknown
type Listeners = Listener | Listener[]
type Table = Record<string | symbol, Listeners | undefined>

interface WithTable { _events?: Table }

/** Engine.IO's socket as this plugin reads it. */
interface EngineSocket extends EventEmitter, WithTable {
  transport?: EventEmitter & WithTable & { name?: string, socket?: EventEmitter & WithTable & { _socket?: WithTable, _receiver?: WithTable } }
  cleanupFn?: unknown[]
}

/** The prototype of a compacted table: it inherits nothing, so `table[event]` is undefined for any event not listened to. */
const INHERITS_NOTHING: object = Object.freeze(Object.create(null))

/** Events whose `once` wrappers go on the emitters that emit them once (see the header). */
const ONCE_EVENTS = new Set<string | symbol>(['close', 'error'])
const NO_EVENTS: ReadonlySet<string | symbol> = new Set()

/** The listener a `once` wrapper calls (Node documents the wrapper's `listener`); any other as it is. */
function unwrapped (listener: Listener): Listener {
  const wrapped = (listener as { listener?: unknown }).listener
  return typeof wrapped === 'function' && wrapped !== listener ? wrapped as Listener : listener
}

/**
 * An array of listeners at its exact length, with the array's own symbol-keyed fields (Node 24
 * counts emits in progress on the array itself, and copies it on removal while one is).
 */
function copyOfListeners (listeners: Listener[], unwrapOnce: boolean): Listener[] {
  const copy = unwrapOnce ? listeners.map(unwrapped) : listeners.slice()
  for (const field of Object.getOwnPropertySymbols(listeners)) (copy as unknown as Record<symbol, unknown>)[field] = (listeners as unknown as Record<symbol, unknown>)[field]
  return copy
}

function compactListeners (listeners: Listeners | undefined, unwrapOnce: boolean): Listeners | undefined {
  if (Array.isArray(listeners)) return copyOfListeners(listeners, unwrapOnce)
  return unwrapOnce && typeof listeners === 'function' ? unwrapped(listeners) : listeners
}

/**
 * Copies an emitter's listener table into a plain object (a table without prototype is a hash
 * table in V8; a table with one, as Node's streams make, is laid out already and kept), with
 * arrays of listeners at their exact length, and `once` wrappers of `onceEvents` unwrapped.
 * The listeners, their order and what `emit` calls are the same.
 */
export function compactTable (emitter: WithTable | undefined, onceEvents = NO_EVENTS): void {
  const table = emitter?._events
  if (emitter === undefined || table === null || typeof table !== 'object') return
  const target: Table = Object.getPrototypeOf(table) === null ? Object.create(INHERITS_NOTHING) as Table : table
  for (const event of Reflect.ownKeys(table)) target[event] = compactListeners(table[event], onceEvents.has(event))
  emitter._events = target
}

/** An array's items in an array of their exact length (one grown by pushes keeps spare slots). */
function exactLength<Item> (items: Item[] | undefined): Item[] | undefined {
  return Array.isArray(items) ? items.slice() : items
}

/**
 * Compacts what a connection holds of listeners, once its handlers (or an upgrade's) have added
 * theirs, and outside any emit of its emitters.
 */
export function compactConnection (socket: Socket): void {
  const conn = socket.conn as unknown as EngineSocket
  compactTable(socket as unknown as WithTable)
  compactTable(conn, ONCE_EVENTS)
  conn.cleanupFn = exactLength(conn.cleanupFn)
  const transport = conn.transport
  compactTable(transport, ONCE_EVENTS)
  if (transport?.name === 'websocket') {
    compactTable(transport.socket, ONCE_EVENTS)
    compactTable(transport.socket?._socket)
    compactTable(transport.socket?._receiver)
  }
  const decoder = (socket.client as unknown as { decoder?: { _callbacks?: Record<string, unknown[]> } }).decoder
  const callbacks = decoder?._callbacks
  if (callbacks !== undefined) for (const event of Object.keys(callbacks)) callbacks[event] = exactLength(callbacks[event]) as unknown[]
}

export function compactListenerProblems (connection: object): string[] {
  const conn = connection as EngineSocket
  const problems: string[] = []
  const tables = [conn, conn.transport, conn.transport?.socket]
  if (!tables.every((emitter) => emitter !== undefined && typeof emitter._events === 'object' && emitter._events !== null && Object.getPrototypeOf(emitter._events) === null)) {
    problems.push('Node\'s EventEmitter keeps the listeners of Engine.IO\'s socket, its transport and the ws socket in `_events`, an object without prototype')
  }
  if (!Array.isArray(conn.cleanupFn)) problems.push('engine.io Socket#cleanupFn is an array')
  // Engine.IO's own once listeners on its transport, as compactConnection finds them.
  const transportClose = conn.transport?._events?.close
  if (typeof transportClose !== 'function' || unwrapped(transportClose) === transportClose) problems.push('engine.io listens to its transport\'s `close` once')
  return problems
}

export function decoderProblems (socket: Socket): string[] {
  const callbacks = (socket.client as unknown as { decoder?: { _callbacks?: unknown } }).decoder?._callbacks
  return typeof callbacks === 'object' && callbacks !== null ? [] : ['socket.io-parser\'s Decoder keeps its listeners in `_callbacks`']
}

export default fp(async function compactListenersPlugin (fastify) {
  fastify.io.on('connection', (socket) => {
    // After every connection handler, and after lean-connections has removed the handshake's listeners.
    process.nextTick(() => {
      compactConnection(socket)
      const conn = socket.conn as unknown as EngineSocket
      // A polling connection's websocket transport comes with the upgrade.
      // Outside the upgrade's emit, so that no table is copied while Node iterates it.
      if (conn.transport?.name !== 'websocket') conn.once('upgrade', () => { process.nextTick(compactConnection, socket) })
    })
  })
}, {
  name: 'compact-listeners',
  dependencies: ['socket-io', 'self-check', 'lean-connections']
})
