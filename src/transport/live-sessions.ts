// The sessions of this node's live sockets, for a client back before its old connection was
// seen closed: read from the sockets themselves, and copied once per tick where the backplane
// keeps copies for other nodes.
import type { LiveSessionCopies, StoredSession } from '../backplane/backplane.ts'
import { later, type Position } from '../backplane/positions.ts'
import type { BridgeServer, BridgeSocket } from '../schemas/socket.ts'
import { internalRoom, KINDS, subscriptionOf } from './rooms.ts'

export interface LiveSessionsOptions {
  io: BridgeServer
  sessionId: (socket: BridgeSocket) => string | undefined
  copies: LiveSessionCopies | undefined
  /** How far this node has applied the channel's shard. */
  positionOf: (channel: string) => Position
  shardOf: (channel: string) => number
}

export function createLiveSessions ({ io, sessionId, copies, positionOf, shardOf }: LiveSessionsOptions) {
  const nsp = io.of('/')
  /** sid → channel → the position applied when the socket joined it (either kind, the first). */
  const joined = new Map<string, Map<string, Position>>()
  const changed = new Set<string>()

  function sessionChanged (sid: string): void {
    if (copies === undefined) return
    if (changed.size === 0) queueMicrotask(copyChanged)
    changed.add(sid)
  }

  function sessionOf (socket: BridgeSocket, pid: string): StoredSession {
    const rooms = [...socket.rooms].filter((room) => subscriptionOf(room) !== undefined)
    return { sid: socket.id, pid, rooms, data: socket.data, from: [...joined.get(socket.id) ?? []] }
  }

  function copyChanged (): void {
    for (const sid of changed) {
      const socket = nsp.sockets.get(sid)
      const pid = socket === undefined ? undefined : sessionId(socket)
      if (socket === undefined || !socket.connected || pid === undefined) continue
      copies?.changed(sessionOf(socket, pid))
    }
    changed.clear()
  }

  function ownSession (pid: string): StoredSession | undefined {
    for (const socket of nsp.sockets.values()) {
      if (socket.connected && sessionId(socket) === pid) return sessionOf(socket, pid)
    }
    return undefined
  }

  return {
    joinedRoom (room: string, sid: string): void {
      const name = subscriptionOf(room)?.channel
      if (name === undefined) return
      let channels = joined.get(sid)
      if (channels === undefined) {
        channels = new Map()
        joined.set(sid, channels)
      }
      if (!channels.has(name)) channels.set(name, positionOf(name))
      sessionChanged(sid)
    },

    /** The channel is forgotten once the socket left both kinds. */
    leftRoom (room: string, sid: string): void {
      const name = subscriptionOf(room)?.channel
      const channels = joined.get(sid)
      if (name !== undefined) sessionChanged(sid)
      if (name === undefined || channels === undefined) return
      for (const kind of KINDS) if (nsp.adapter.rooms.get(internalRoom(kind, name))?.has(sid) === true) return
      channels.delete(name)
      if (channels.size === 0) joined.delete(sid)
    },

    joinedAt: (sid: string): ReadonlyMap<string, Position> | undefined => joined.get(sid),

    /** The node reads the shard from `position` on: a socket that joined one of its channels before joined there. */
    startedAt (shard: number, position: Position): void {
      for (const channels of joined.values()) {
        for (const [channel, at] of channels) if (shardOf(channel) === shard) channels.set(channel, later(at, position))
      }
    },

    /** A restored socket starts where its session did, not where this node is now. */
    rejoining (sid: string, from: ReadonlyMap<string, Position>): void {
      joined.set(sid, new Map(from))
    },

    async find (pid: string): Promise<{ session: StoredSession, diedAt?: number } | undefined> {
      const session = ownSession(pid)
      return session === undefined ? await copies?.take(pid) : { session }
    },

    ended (socket: BridgeSocket): void {
      const pid = sessionId(socket)
      if (pid !== undefined) copies?.ended(pid)
    }
  }
}

export type LiveSessions = ReturnType<typeof createLiveSessions>
