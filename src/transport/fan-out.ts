// Local fan-out: an event this node applies is written to each of its sockets subscribed to
// the channel, in the format of each subscription kind, encoded once per kind. A socket that
// does not read what it is sent is cut loose once too much waits for it, whatever wrote it:
// events here, and every other packet (acks, member lists, answers) at Engine.IO's level.
import WebSocket from 'ws'
import type { BridgeServer, BridgeSocket } from '../schemas/socket.ts'
import { internalRoom, type SubscriptionKind } from './channels.ts'
import { packetOf, type EncodedEvent } from './events.ts'

const KINDS: readonly SubscriptionKind[] = ['room', 'echo']

/** Engine.IO's connection, as far as the fan-out reads it. */
interface Connection {
  readyState: string
  writeBuffer?: Array<{ data?: unknown }>
  transport?: { socket?: { bufferedAmount?: unknown } }
  write: (data: string, options: PacketOptions) => unknown
  close: (discard?: boolean) => unknown
}

/** An Engine.IO connection as its documented `packetCreate` event sees it (`this`). */
interface WatchedConnection extends Connection {
  on: (event: 'packetCreate', listener: (this: WatchedConnection, packet: { data?: unknown }) => void) => unknown
}

interface PacketOptions {
  preEncoded: true
  wsPreEncodedFrame?: Buffer[]
}

// As socket.io's adapter does: the websocket frame is built once and written to every socket.
const buildFrame = (WebSocket as unknown as { Sender?: { frame?: (data: Buffer, options: object) => Buffer[] } }).Sender?.frame

function packetOptions (packet: string): PacketOptions {
  if (buildFrame === undefined) return { preEncoded: true }
  const frame = buildFrame(Buffer.from(`4${packet}`), { readOnly: false, mask: false, rsv1: false, opcode: 1, fin: true })
  return { preEncoded: true, wsPreEncodedFrame: frame }
}

/** Bytes counted so far in a connection's current Engine.IO buffer (it is replaced when flushed). */
const counted = new WeakMap<object, { buffer: unknown[], packets: number, bytes: number }>()

/** About how many bytes a packet's data takes (its text, or its binary attachment). */
function sizeOf (data: unknown): number {
  if (typeof data === 'string') return data.length
  return ArrayBuffer.isView(data) ? data.byteLength : 0
}

/**
 * About how many bytes wait to be sent to a connection: in Engine.IO's buffer (polling
 * between requests, or a websocket with a write in flight) and in the websocket's own.
 */
export function waitingBytes (conn: Connection): number {
  const ws = conn.transport?.socket
  let bytes = typeof ws?.bufferedAmount === 'number' ? ws.bufferedAmount : 0
  const buffer = conn.writeBuffer
  if (buffer !== undefined && buffer.length > 0) {
    let count = counted.get(conn)
    if (count === undefined || count.buffer !== buffer) {
      count = { buffer, packets: 0, bytes: 0 }
      counted.set(conn, count)
    }
    for (; count.packets < buffer.length; count.packets++) {
      count.bytes += sizeOf(buffer[count.packets]?.data)
    }
    bytes += count.bytes
  }
  return bytes
}

export interface FanOutOptions {
  io: BridgeServer
  /** Past this many waiting bytes a socket is disconnected; 0 never. */
  maxBufferedBytes: number
  /**
   * Called for each connection cut loose (before it is closed), with its socket.io socket when
   * the write that cut it knew it (a cut at Engine.IO's level does not).
   */
  onSlowSocket: (conn: object, socket?: BridgeSocket) => void
}

export function createFanOut ({ io, maxBufferedBytes, onSlowSocket }: FanOutOptions) {
  const nsp = io.of('/')

  function cut (conn: Connection, socket?: BridgeSocket): void {
    onSlowSocket(conn, socket)
    // Discarding what waits: waiting for it to drain is what a slow reader never lets happen.
    conn.close(true)
  }

  /**
   * Engine.IO emits `packetCreate` before it buffers any packet of a connection: socket.emit,
   * acks, broadcasts, its own pings. One listener for every connection (`this` is the
   * connection), so nothing is kept per socket. Closing the connection here is safe: Engine.IO
   * then buffers the packet on a closed connection, which sends nothing and clears its buffer.
   */
  function onPacketCreate (this: WatchedConnection, packet: { data?: unknown }): void {
    if (this.readyState === 'open' && waitingBytes(this) + sizeOf(packet.data) > maxBufferedBytes) cut(this)
  }
  if (maxBufferedBytes > 0) {
    io.engine.on('connection', (conn: WatchedConnection) => { conn.on('packetCreate', onPacketCreate) })
  }

  /**
   * Writes one packet to one socket, unless too much already waits for it. Checked here too:
   * the broadcast fast path (plugins/patches/broadcast-fast-path.ts) writes a frame to an idle
   * websocket without creating an Engine.IO packet.
   */
  function write (socket: BridgeSocket, packet: string, options: PacketOptions): void {
    const conn = socket.conn as unknown as Connection
    if (conn.readyState !== 'open') return
    if (maxBufferedBytes > 0 && waitingBytes(conn) + packet.length > maxBufferedBytes) return cut(conn, socket)
    conn.write(packet, options)
  }

  return {
    /** Writes the event to the subscribers of its channel on this node; answers how many got it. */
    deliver (event: EncodedEvent, offset: string): number {
      let delivered = 0
      for (const kind of KINDS) {
        if (event.only !== undefined && event.only !== kind) continue
        const members = nsp.adapter.rooms.get(internalRoom(kind, event.channel))
        if (members === undefined) continue
        const packet = packetOf(kind, event, offset)
        const options = packetOptions(packet)
        for (const sid of members) {
          if (sid === event.except) continue
          const socket = nsp.sockets.get(sid)
          if (socket === undefined) continue
          write(socket, packet, options)
          delivered += 1
        }
      }
      return delivered
    },

    /** Writes events a reconnecting socket missed, in order, in the format of its subscriptions. */
    replay (socket: BridgeSocket, events: Iterable<{ event: EncodedEvent, offset: string }>): void {
      for (const { event, offset } of events) {
        for (const kind of KINDS) {
          if (event.only !== undefined && event.only !== kind) continue
          if (event.except === socket.id || !socket.rooms.has(internalRoom(kind, event.channel))) continue
          const packet = packetOf(kind, event, offset)
          write(socket, packet, { preEncoded: true })
        }
      }
    }
  }
}

export type FanOut = ReturnType<typeof createFanOut>
