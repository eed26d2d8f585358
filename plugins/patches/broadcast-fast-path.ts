// Fan-out fast path: a broadcast frame, encoded once, goes to each idle websocket in one write
// instead of through Engine.IO's per-socket packet machinery (docs/performance.md).
// Patches engine.io's `Socket#write` per connection; reads engine.io (`readyState`, `writeBuffer`,
// `transport`) and ws (`_socket`, `_sender.sendFrame`) internals, checked at start.
import type { Duplex } from 'node:stream'
import fp from 'fastify-plugin'

// Only when nothing of Engine.IO's is pending on the socket (no polling, upgrade, buffered
// packet, unflushed bytes or callback); otherwise the usual path runs after what is pending,
// so each socket still gets its events in order. The bytes written are the same.

interface FrameOptions {
  wsPreEncodedFrame?: Buffer[]
  /** The frame as one buffer, joined once per broadcast (the options object is shared). */
  wholeFrame?: Buffer
}

interface WebSocketInternals {
  readyState: number
  _socket?: Duplex
  _sender?: { sendFrame?: (list: Buffer[]) => void }
}

export interface EngineConnection {
  readyState: string
  writeBuffer: unknown[]
  transport: { name: string, writable: boolean, perMessageDeflate?: unknown, socket?: WebSocketInternals }
  write: (data: unknown, options?: FrameOptions, callback?: () => void) => EngineConnection
}

const OPEN = 1

export function fastPathProblems (connection: EngineConnection): string[] {
  const problems: string[] = []
  const expect = (ok: boolean, what: string) => { if (!ok) problems.push(what) }
  expect(typeof connection.readyState === 'string', 'engine.io Socket#readyState is a string')
  expect(Array.isArray(connection.writeBuffer), 'engine.io Socket#writeBuffer is an array')
  expect(typeof Object.getPrototypeOf(connection).write === 'function', 'engine.io Socket.prototype.write exists')
  const transport = connection.transport as Partial<EngineConnection['transport']> | undefined
  expect(transport?.name === 'websocket', 'engine.io transport#name is "websocket" on a websocket connection')
  expect(typeof transport?.writable === 'boolean', 'engine.io transport#writable is a boolean')
  const ws = transport?.socket
  expect(typeof ws?.readyState === 'number', 'engine.io websocket transport#socket is a ws WebSocket (readyState)')
  expect(typeof ws?._socket?.writableLength === 'number', 'ws WebSocket#_socket is the net.Socket (writableLength)')
  expect(typeof ws?._sender?.sendFrame === 'function', 'ws WebSocket#_sender.sendFrame is a function')
  return problems
}

function writeBroadcastFrame (this: EngineConnection, data: unknown, options?: FrameOptions, callback?: () => void): EngineConnection {
  const frame = options?.wsPreEncodedFrame
  const transport = this.transport
  const ws = transport.socket
  if (
    options !== undefined && frame !== undefined && callback === undefined &&
    this.readyState === 'open' && this.writeBuffer.length === 0 &&
    transport.name === 'websocket' && transport.writable && !transport.perMessageDeflate &&
    ws !== undefined && ws.readyState === OPEN && typeof ws._sender?.sendFrame === 'function' &&
    ws._socket !== undefined && ws._socket.writableLength === 0
  ) {
    options.wholeFrame ??= frame.length === 1 ? frame[0] as Buffer : Buffer.concat(frame)
    ws._sender.sendFrame([options.wholeFrame])
    return this
  }
  return (Object.getPrototypeOf(this) as EngineConnection).write.call(this, data, options, callback)
}

export default fp(async function broadcastFastPath (fastify) {
  fastify.io.engine.on('connection', (connection: EngineConnection) => {
    connection.write = writeBroadcastFrame
  })
}, {
  name: 'broadcast-fast-path',
  dependencies: ['socket-io', 'self-check']
})
