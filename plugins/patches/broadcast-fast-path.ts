// Fan-out fast path: a room broadcast reaches each idle websocket as one write of a frame
// encoded once, instead of going through Engine.IO's per-socket packet machinery.
//
// Patches: engine.io's `Socket#write` on each connection. Relies on engine.io (`readyState`,
// `writeBuffer`, `transport.name|writable|perMessageDeflate|socket`) and ws (`readyState`,
// `_socket`, `_sender.sendFrame`) internals; `fastPathProblems` names the missing ones and the
// start fails then (plugins/patches/self-check.ts). Versions are pinned in package.json.
import type { Duplex } from 'node:stream'
import fp from 'fastify-plugin'

// socket.io already encodes a broadcast once and builds its websocket frame once
// (`wsPreEncodedFrame`, a header and a payload). Engine.IO then spends, per socket, a packet
// object, four events, a write buffer, a two-buffer write and a write callback that re-arms
// the socket. With 2,000 sockets in a room that is most of the CPU left to save besides the
// kernel's own send. So a broadcast frame is written straight to the socket when nothing of
// Engine.IO's is pending on it; in every other case (polling, an upgrade, buffered packets,
// unflushed bytes, a callback to call) the usual path runs, after whatever is pending, so
// each socket still gets its events in order. The same frame goes out, and the room, the
// adapter and socket.io's outgoing listeners are untouched: this only changes how the bytes
// of one socket's frame are written.

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

/** What this patch needs of an open websocket connection and does not find; empty when all is there. */
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

/** Replaces `write` on one Engine.IO connection; `this` is the connection. */
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
  // self-check: the start fails when an internal the fast path reads is missing.
  dependencies: ['socket-io', 'self-check']
})
