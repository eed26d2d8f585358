// This node's socket.io subscribers as two audiences of the fan-out: rooms, and Laravel Echo's
// channels. Every write to a socket.io connection falls under the slow-socket cut: events here,
// every other packet (acks, member lists) at Engine.IO's level.
import type { EncodedEvent } from '../channels/delivery.ts'
import type { SubscriptionKind } from '../channels/names.ts'
import type { BridgeServer, BridgeSocket } from '../schemas/socket.ts'
import { createSlowSocketCut, dataSize } from '../sockets/slow-sockets.ts'
import type { Audience, PresenceAnnouncement } from './fan-out.ts'
import { packetOf } from './packets.ts'
import { internalRoom, KINDS } from './rooms.ts'

export interface Connection {
  readyState: string
  write: (data: string, options: PacketOptions) => unknown
  close: (discard?: boolean) => unknown
}

interface WatchedConnection extends Connection {
  on: (event: 'packetCreate', listener: (this: WatchedConnection, packet: { data?: unknown }) => void) => unknown
}

export interface PacketOptions {
  preEncoded: true
  wsPreEncodedFrame?: Buffer[]
}

export interface WriterInternals {
  waitingBytes: (conn: object) => number
  sharedFrame: (packet: string) => PacketOptions
}

export interface SocketIoAudiencesOptions {
  io: BridgeServer
  internals: WriterInternals
  /** Past this many waiting bytes a socket is disconnected; 0 never. */
  maxBufferedBytes: number
  /** Each connection cut loose, before it is closed; with its socket when the write knew it. */
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
   * Engine.IO emits `packetCreate` before it buffers any packet: one listener for every connection
   * (`this`). Closing here is safe: the packet then goes to a closed connection, which drops it.
   */
  function onPacketCreate (this: WatchedConnection, packet: { data?: unknown }): void {
    if (this.readyState === 'open') slow.cutIfOver(this, waitingBytes(this), dataSize(packet.data))
  }
  if (slow.enabled) {
    io.engine.on('connection', (conn: WatchedConnection) => { conn.on('packetCreate', onPacketCreate) })
  }

  /** Checked here too: the broadcast fast path writes to an idle websocket without an Engine.IO packet. */
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
