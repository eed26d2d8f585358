// The subscribers on this node's socket.io server, as two audiences of the fan-out: sockets
// subscribed to rooms, and sockets subscribed through Laravel Echo. Every write to a socket.io
// connection, whatever wrote it, falls under the slow-socket cut: events here, and every other
// packet (acks, member lists, answers) at Engine.IO's level.
import type { EncodedEvent } from '../channels/delivery.ts'
import type { SubscriptionKind } from '../channels/names.ts'
import type { BridgeServer, BridgeSocket } from '../schemas/socket.ts'
import { createSlowSocketCut, dataSize } from '../sockets/slow-sockets.ts'
import type { Audience, PresenceAnnouncement } from './fan-out.ts'
import { packetOf } from './packets.ts'
import { internalRoom, KINDS } from './rooms.ts'

/** Engine.IO's connection, as far as the writes go (its public API). */
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

/** The internals these writes read, from plugins/patches/socket-internals.ts. */
export interface WriterInternals {
  /** About how many bytes wait to be sent to a connection. */
  waitingBytes: (conn: object) => number
  /** Write options of a packet written to many sockets, its frame built once. */
  sharedFrame: (packet: string) => PacketOptions
}

export interface SocketIoAudiencesOptions {
  io: BridgeServer
  internals: WriterInternals
  /** Past this many waiting bytes a socket is disconnected; 0 never. */
  maxBufferedBytes: number
  /**
   * Called for each connection cut loose (before it is closed), with its socket.io socket when
   * the write that cut it knew it (a cut at Engine.IO's level does not).
   */
  onSlowSocket: (conn: object, socket?: BridgeSocket) => void
}

interface Frame {
  packet: string
  options: PacketOptions
}

export function createSocketIoAudiences ({ io, internals, maxBufferedBytes, onSlowSocket }: SocketIoAudiencesOptions) {
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

  /** Echo's presence events, through socket.io (they carry the offset of the last applied event). */
  function announcePresence ({ channel, event, member, except, only }: PresenceAnnouncement): void {
    const room = internalRoom('echo', channel)
    if (only === undefined) {
      io.to(room).except([...except]).emit(event, channel, member)
      return
    }
    for (const sid of only) {
      const socket = nsp.sockets.get(sid)
      if (socket?.rooms.has(room) === true) socket.emit(event, channel, member)
    }
  }

  function audience (kind: SubscriptionKind): Audience<Frame> {
    return {
      kind,
      subscribers: (channel) => nsp.adapter.rooms.get(internalRoom(kind, channel)),
      frame (event: EncodedEvent, offset: string) {
        const packet = packetOf(kind, event, offset)
        return { packet, options: sharedFrame(packet) }
      },
      write (sid, { packet, options }) {
        const socket = nsp.sockets.get(sid)
        if (socket === undefined) return false
        write(socket, packet, options)
        return true
      },
      ...(kind === 'echo' && { announcePresence })
    }
  }

  return {
    audiences: KINDS.map(audience),

    /** Writes events a reconnecting socket missed, in order, in the format of its subscriptions. */
    replay (socket: BridgeSocket, events: Iterable<{ event: EncodedEvent, offset: string }>): void {
      for (const { event, offset } of events) {
        for (const kind of KINDS) {
          if (event.only !== undefined && event.only !== kind) continue
          if (event.except === socket.id || !socket.rooms.has(internalRoom(kind, event.channel))) continue
          write(socket, packetOf(kind, event, offset), { preEncoded: true })
        }
      }
    }
  }
}
