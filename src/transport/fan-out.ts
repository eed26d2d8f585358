// Local fan-out: an event this node applies is written to each of its sockets subscribed to
// the channel, in the format of each subscription kind, encoded once per kind. A socket that
// does not read what it is sent is cut loose once too much waits for it, whatever wrote it:
// events here, and every other packet (acks, member lists, answers) at Engine.IO's level.
import type { BridgeServer, BridgeSocket } from '../schemas/socket.ts'
import { createSlowSocketCut, dataSize } from '../sockets/slow-sockets.ts'
import type { SubscriptionKind } from '../channels/names.ts'
import { internalRoom } from './rooms.ts'
import type { EncodedEvent } from '../channels/delivery.ts'
import { packetOf } from './packets.ts'

const KINDS: readonly SubscriptionKind[] = ['room', 'echo']

/** Engine.IO's connection, as far as the fan-out writes to it (its public API). */
export interface Connection {
  readyState: string
  write: (data: string, options: PacketOptions) => unknown
  close: (discard?: boolean) => unknown
}

/** An Engine.IO connection as its documented `packetCreate` event sees it (`this`). */
interface WatchedConnection extends Connection {
  on: (event: 'packetCreate', listener: (this: WatchedConnection, packet: { data?: unknown }) => void) => unknown
}

/** Engine.IO write options of a packet already encoded, with its websocket frame when one is built. */
export interface PacketOptions {
  preEncoded: true
  wsPreEncodedFrame?: Buffer[]
}

/** The internals the fan-out reads, from plugins/patches/socket-internals.ts. */
export interface FanOutInternals {
  /** About how many bytes wait to be sent to a connection. */
  waitingBytes: (conn: object) => number
  /** Write options of a packet written to many sockets, its frame built once. */
  sharedFrame: (packet: string) => PacketOptions
}

export interface FanOutOptions {
  io: BridgeServer
  internals: FanOutInternals
  /** Past this many waiting bytes a socket is disconnected; 0 never. */
  maxBufferedBytes: number
  /**
   * Called for each connection cut loose (before it is closed), with its socket.io socket when
   * the write that cut it knew it (a cut at Engine.IO's level does not).
   */
  onSlowSocket: (conn: object, socket?: BridgeSocket) => void
}

export function createFanOut ({ io, internals, maxBufferedBytes, onSlowSocket }: FanOutOptions) {
  const nsp = io.of('/')
  const { waitingBytes, sharedFrame } = internals
  const slow = createSlowSocketCut<Connection, BridgeSocket>({ maxBufferedBytes, discard: (conn) => conn.close(true), onCut: onSlowSocket })

  /**
   * Engine.IO emits `packetCreate` before it buffers any packet of a connection: socket.emit,
   * acks, broadcasts, its own pings. One listener for every connection (`this` is the
   * connection), so nothing is kept per socket. Closing the connection here is safe: Engine.IO
   * then buffers the packet on a closed connection, which sends nothing and clears its buffer.
   */
  function onPacketCreate (this: WatchedConnection, packet: { data?: unknown }): void {
    if (this.readyState === 'open') slow.cutIfOver(this, waitingBytes(this), dataSize(packet.data))
  }
  if (slow.enabled) {
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
    if (slow.enabled && slow.cutIfOver(conn, waitingBytes(conn), packet.length, socket)) return
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
        const options = sharedFrame(packet)
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
