// This node's Pusher-protocol subscribers (plain WebSockets, src/protocols/pusher/) as an audience
// of the fan-out, beside socket.io's two: a registry of connections and of their channels, keyed
// by the same socket ids. It holds Echo's kind of subscription (one audience per name, whispers
// included) and writes `{ event, channel, data: "<JSON>" }`, each write under the slow-socket cut.
import type { EncodedEvent } from '../channels/delivery.ts'
import { TERMINATE_USER_EVENT } from '../channels/names.ts'
import { createSlowSocketCut } from '../sockets/slow-sockets.ts'
import type { Audience, PresenceAnnouncement } from './fan-out.ts'

/** What the transport needs of a Pusher-protocol connection. */
export interface PusherConnection {
  /** Pusher-shaped, from the one space of socket ids (toOthers works across protocols). */
  readonly id: string
  /** Sends a text frame (a Buffer holds its UTF-8, encoded once for every subscriber). */
  send: (frame: string | Buffer) => void
  /** Bytes written but not yet taken by the client. */
  bufferedAmount: () => number
  /** Drops the connection at once, discarding what waits for it. */
  terminate: () => void
  close: (code: number, reason: string) => void
  /** The user behind it once known (a presence member, a sign-in), for counts. */
  userId?: string
}

/** A server frame: `data` is always a JSON string, as pusher-js expects of server events. */
export function pusherFrame (event: string, channel: string | undefined, dataJson: string, userId?: string): string {
  const addressed = channel === undefined ? '' : `"channel":${JSON.stringify(channel)},`
  const sender = userId === undefined ? '' : `,"user_id":${JSON.stringify(userId)}`
  return `{"event":${JSON.stringify(event)},${addressed}"data":${JSON.stringify(dataJson)}${sender}}`
}

/** The frame of a terminate_connections: never written, it closes (4009: pusher-js stays closed). */
const TERMINATE = Symbol('terminate')
const TERMINATED = 4009

export interface PusherAudienceOptions {
  maxBufferedBytes: number
  onSlowSocket: (connection: PusherConnection) => void
}

export function createPusherAudience ({ maxBufferedBytes, onSlowSocket }: PusherAudienceOptions) {
  const connections = new Map<string, PusherConnection>()
  /** channel → ids subscribed here; id → its channels (to leave them all on close). */
  const channels = new Map<string, Set<string>>()
  const subscriptions = new Map<string, Set<string>>()
  const slow = createSlowSocketCut<PusherConnection, PusherConnection>({ maxBufferedBytes, discard: (conn) => conn.terminate(), onCut: onSlowSocket })

  /** Every write to a Pusher connection goes through here: false when it was cut instead. */
  function send (conn: PusherConnection, frame: string | Buffer): boolean {
    if (slow.enabled && slow.cutIfOver(conn, conn.bufferedAmount(), typeof frame === 'string' ? Buffer.byteLength(frame) : frame.length)) return false
    conn.send(frame)
    return true
  }

  function announcePresence ({ channel, event, member, except, only }: PresenceAnnouncement): void {
    const ids = only ?? channels.get(channel)
    if (ids === undefined) return
    const frame = Buffer.from(event === 'presence:joining'
      ? pusherFrame('pusher_internal:member_added', channel, JSON.stringify({ user_id: member.user_id, user_info: member.user_info ?? null }))
      : pusherFrame('pusher_internal:member_removed', channel, JSON.stringify({ user_id: member.user_id })))
    for (const id of ids) {
      const conn = connections.get(id)
      // `only` names subscribers of every protocol: only those still in the channel here.
      if (conn !== undefined && !except.has(id) && channels.get(channel)?.has(id) === true) send(conn, frame)
    }
  }

  // Frames are encoded once per event, not once per subscriber.
  const audience: Audience<Buffer | typeof TERMINATE> = {
    kind: 'echo',
    subscribers: (channel) => channels.get(channel),
    frame: (event: EncodedEvent) => event.event === TERMINATE_USER_EVENT ? TERMINATE : Buffer.from(pusherFrame(event.event, event.channel, event.payloadJson, event.userId)),
    write (id, frame) {
      const conn = connections.get(id)
      if (conn === undefined) return false
      if (frame === TERMINATE) conn.close(TERMINATED, 'Connection terminated by the server')
      else send(conn, frame)
      return true
    },
    announcePresence
  }

  return {
    audience,
    send,
    add (conn: PusherConnection): void {
      connections.set(conn.id, conn)
    },
    /** Forgets the connection; answers the channels it was in. */
    remove (conn: PusherConnection): string[] {
      connections.delete(conn.id)
      const left = [...subscriptions.get(conn.id) ?? []]
      for (const channel of left) this.leave(conn, channel)
      return left
    },
    join (conn: PusherConnection, channel: string): void {
      let ids = channels.get(channel)
      if (ids === undefined) {
        ids = new Set()
        channels.set(channel, ids)
      }
      ids.add(conn.id)
      let mine = subscriptions.get(conn.id)
      if (mine === undefined) {
        mine = new Set()
        subscriptions.set(conn.id, mine)
      }
      mine.add(channel)
    },
    leave (conn: PusherConnection, channel: string): void {
      const ids = channels.get(channel)
      ids?.delete(conn.id)
      if (ids?.size === 0) channels.delete(channel)
      const mine = subscriptions.get(conn.id)
      mine?.delete(channel)
      if (mine?.size === 0) subscriptions.delete(conn.id)
    },
    isSubscribed: (conn: PusherConnection, channel: string): boolean => channels.get(channel)?.has(conn.id) === true,
    subscriptionCount: (conn: PusherConnection): number => subscriptions.get(conn.id)?.size ?? 0,
    connection: (id: string): PusherConnection | undefined => connections.get(id),
    connections: (): Iterable<PusherConnection> => connections.values(),
    get size (): number { return connections.size },
    /** For counts: this node's subscribers of a channel, every channel, a subscriber's user. */
    subscribers: (channel: string): ReadonlySet<string> | undefined => channels.get(channel),
    channels: (): Iterable<[string, ReadonlySet<string>]> => channels.entries(),
    userOf: (id: string): string | undefined => connections.get(id)?.userId
  }
}

export type PusherAudience = ReturnType<typeof createPusherAudience>
