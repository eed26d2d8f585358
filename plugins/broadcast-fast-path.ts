// Fan-out fast path: a room broadcast reaches each idle websocket as one write of a frame
// encoded once, instead of going through Engine.IO's per-socket packet machinery.
import fp from 'fastify-plugin'
import type { Duplex } from 'node:stream'

// socket.io already encodes a broadcast once and builds its websocket frame once
// (`wsPreEncodedFrame`, a header and a payload). Engine.IO then spends, per socket, a packet
// object, four events, a write buffer, a two-buffer write and a write callback that re-arms
// the socket. With 2,000 sockets in a room that is most of the CPU left to save besides the
// kernel's own send. So a broadcast frame is written straight to the socket when nothing of
// Engine.IO's is pending on it; in every other case (polling, an upgrade, buffered packets,
// unflushed bytes, a callback to call) the usual path runs, after whatever is pending, so
// each socket still gets its events in order. The same frame goes out, and the room, the
// adapter (cluster, connection state recovery) and socket.io's outgoing listeners are
// untouched: this only changes how the bytes of one socket's frame are written.

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

interface EngineConnection {
  readyState: string
  writeBuffer: unknown[]
  transport: { name: string, writable: boolean, perMessageDeflate?: unknown, socket?: WebSocketInternals }
  write: (data: unknown, options?: FrameOptions, callback?: () => void) => EngineConnection
}

const OPEN = 1

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
  dependencies: ['fastify-socket.io']
})
