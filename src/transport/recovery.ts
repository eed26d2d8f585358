// Missed-event recovery, decided by the bridge (socket.io keeps the protocol): a session is
// restored only when every event after the client's offset in its channels is still kept, new
// events are captured before the kept ones are read, and the socket gets both in one step once
// the middlewares accept it again, so nothing slips in between (docs/recovery.md).
import type { SessionStore, StoredSession } from '../backplane/backplane.ts'
import { compare, later, positionIn, reached, START, type Clock, type Position } from '../backplane/positions.ts'
import type { EncodedEvent } from '../channels/delivery.ts'
import type { BridgeServer, BridgeSocket } from '../schemas/socket.ts'
import { channelsOf, subscriptionOf } from './rooms.ts'

export interface PositionedEvent {
  position: Position
  event: EncodedEvent
}

export interface History {
  /** Each channel's kept events after its position, up to `upTo` in its shard; undefined when one was not kept. */
  read (after: ReadonlyMap<string, Position>, upTo: Clock): PositionedEvent[] | undefined
}

export interface RecoveryOptions {
  io: BridgeServer
  replay: (socket: BridgeSocket, events: Iterable<{ event: EncodedEvent, offset: string }>) => void
  sessions: SessionStore
  history: History
  /** The shard of the bus a channel's events go through (positions compare within one). */
  shardOf: (channel: string) => number
  formatOffset: (clock: Clock) => string
  parseOffset: (offset: string) => Clock | undefined
  /** How long a connection may have been dead before its disconnect was noticed. */
  deadConnectionMs: number
  catchUpMs?: number
  /** A session was kept: its channels' events must be kept too while it may come back. */
  onPersist?: (channels: ReadonlySet<string>) => void
  joinedAt: (sid: string) => ReadonlyMap<string, Position> | undefined
  /** What a restored socket is sent starts after these positions until its client has read it. */
  rejoining: (sid: string, from: ReadonlyMap<string, Position>) => void
  /** A still-live socket's session (or a dead node's, `diedAt`): the client is back before it was seen closed. */
  live: (pid: string) => Promise<{ session: StoredSession, diedAt?: number } | undefined>
  /** What `history` lacks, read back from the backplane (a node restarted since the client left). */
  readBack: (after: ReadonlyMap<string, Position>, upTo: Clock) => Promise<PositionedEvent[] | undefined>
  /** Resolves once this node has read everything the bus held when called (a gap it finds on the way is `lost()` first). */
  busCaughtUp: () => Promise<void>
  /** Resolves once this node reads the channels' events, and keeps reading them a while (a restore is under way). */
  watch?: (channels: readonly string[]) => Promise<void>
  /** A client came back and was told `recovered === false` because events it missed are gone. */
  onUnrecoverable?: () => void
  now?: () => number
}

interface Capture {
  channels: ReadonlySet<string>
  /** With the offset each was delivered with (the clock once it was applied). */
  events: Array<{ event: EncodedEvent, offset: string }>
  overflowed: boolean
}

interface PendingRestore {
  session: StoredSession
  after: ReadonlyMap<string, Position>
  missed: PositionedEvent[]
  capture: Capture
  timer: NodeJS.Timeout
}

/** Engine.IO notices a dead connection within its ping interval and timeout, plus a margin. */
export const DEAD_CONNECTION_MS = 60_000

export const PENDING_RESTORE_MS = 10_000
const MAX_CAPTURED = 10_000

export function createRecovery (options: RecoveryOptions) {
  const { io, replay, sessions, history, shardOf, formatOffset, parseOffset, deadConnectionMs, catchUpMs = 2000, onPersist, joinedAt, rejoining, live, readBack, busCaughtUp, watch = async () => {}, onUnrecoverable, now = Date.now } = options
  const applied = new Map<number, Position>()
  /** [time, clock applied by then], at most one a second, for a session's `from`. */
  const samples: Array<[number, Clock]> = []
  const maxSamples = Math.ceil(deadConnectionMs / 1000) + 10
  const captures = new Set<Capture>()
  const pending = new Map<string, PendingRestore>()
  /** Connections cut loose with events waiting: only their offset tells what they got. */
  const cutLoose = new WeakSet<object>()
  const waitingForPosition = new Set<() => void>()
  const takenOver = new WeakSet<object>()

  function appliedBefore (time: number): Clock {
    for (let i = samples.length - 1; i >= 0; i--) {
      const [at, clock] = samples[i] as [number, Clock]
      if (at <= time) return clock
    }
    return new Map()
  }

  function caughtUp (clock: Clock): Promise<boolean> {
    if (reached(applied, clock)) return Promise.resolve(true)
    return new Promise((resolve) => {
      const check = () => {
        if (!reached(applied, clock)) return
        clearTimeout(timer)
        waitingForPosition.delete(check)
        resolve(true)
      }
      const timer = setTimeout(() => {
        waitingForPosition.delete(check)
        resolve(false)
      }, catchUpMs)
      waitingForPosition.add(check)
    })
  }

  async function liveSession (pid: string): Promise<StoredSession | undefined> {
    const found = await live(pid)
    if (found === undefined) return undefined
    if (found.diedAt === undefined) return found.session
    const alive = appliedBefore(found.diedAt - deadConnectionMs)
    return { ...found.session, from: found.session.from.map(([channel, position]) => [channel, later(positionIn(alive, shardOf(channel)), position)]) }
  }

  /**
   * Each missed event with the clock its client has once it got it: the shards replayed so far,
   * each at its last replayed event (a shard not replayed yet is left to the session's `from`).
   */
  function missedWithOffsets (missed: readonly PositionedEvent[]): Array<{ event: EncodedEvent, offset: string }> {
    const replayed = new Map<number, Position>()
    return missed.map(({ position, event }) => {
      replayed.set(shardOf(event.channel), position)
      return { event, offset: formatOffset(replayed) }
    })
  }

  function dropPending (sid: string): void {
    const restore = pending.get(sid)
    if (restore === undefined) return
    pending.delete(sid)
    clearTimeout(restore.timer)
    captures.delete(restore.capture)
  }

  return {
    currentOffset (): string {
      return formatOffset(applied)
    },

    /** How far this node has applied each shard. */
    get clock (): Clock {
      return applied
    },

    /** How far this node has applied the channel's shard. */
    positionOf (channel: string): Position {
      return positionIn(applied, shardOf(channel))
    },

    /** The shard is not read here any more: its position is unknown until it is again. */
    forget (shard: number): void {
      applied.delete(shard)
    },

    advance (shard: number, position: Position): void {
      if (compare(position, positionIn(applied, shard)) <= 0) return
      applied.set(shard, position)
      const time = now()
      const last = samples.at(-1)
      if (last === undefined || time - last[0] >= 1000) {
        samples.push([time, new Map(applied)])
        if (samples.length > maxSamples) samples.shift()
      }
      for (const check of waitingForPosition) check()
    },

    applied (shard: number, position: Position, event: EncodedEvent): void {
      this.advance(shard, position)
      if (!event.ephemeral) {
        for (const capture of captures) {
          if (!capture.channels.has(event.channel)) continue
          if (capture.events.length >= MAX_CAPTURED) capture.overflowed = true
          else capture.events.push({ event, offset: formatOffset(applied) })
        }
      }
    },

    capturing (channel: string): boolean {
      for (const capture of captures) if (capture.channels.has(channel)) return true
      return false
    },

    takenOver (socket: BridgeSocket): boolean {
      return takenOver.has(socket)
    },

    cutLoose (conn: object): void {
      cutLoose.add(conn)
    },

    /** socket.io's `persistSession`: a connection was lost in a way the client may recover from. */
    persist (session: { sid: string, pid: string, rooms: string[], data: unknown }): void {
      const socket = io.of('/').sockets.get(session.sid)
      const rooms = session.rooms.filter((room) => subscriptionOf(room) !== undefined)
      const channels = channelsOf(rooms)
      onPersist?.(channels)
      const alive = socket === undefined || !cutLoose.has(socket.conn) ? appliedBefore(now() - deadConnectionMs) : new Map()
      const joined = joinedAt(session.sid)
      sessions.save({
        sid: session.sid,
        pid: session.pid,
        rooms,
        data: session.data,
        from: [...channels].map((channel) => [channel, later(positionIn(alive, shardOf(channel)), joined?.get(channel) ?? START)])
      })
    },

    /** socket.io's `restoreSession`: the session without rooms and missed events (they follow on `complete`), or null to start over. */
    async restore (pid: string, offsetText: string) {
      const offset = parseOffset(offsetText)
      if (offset === undefined) return null
      // Looked for again: a node noticing the disconnect meanwhile stores it before dropping the live copy.
      const session = await sessions.take(pid) ?? await liveSession(pid) ?? await sessions.take(pid)
      if (session === undefined || pending.has(session.sid)) return null
      // The client says its old connection here is dead: the restored socket takes over its id.
      const old = io.of('/').sockets.get(session.sid)
      if (old !== undefined) {
        takenOver.add(old)
        onPersist?.(channelsOf(session.rooms))
        old.disconnect(true)
      }
      // This node reads the session's channels (their shards) before it can tell what they missed.
      const channels = session.from.map(([channel]) => channel)
      try {
        await watch(channels)
      } catch {
        return null
      }
      // Caught up with the client in its channels' shards: the offset's other shards are not read here.
      const shardsOfChannels = new Set(channels.map(shardOf))
      if (!await caughtUp(new Map([...offset].filter(([shard]) => shardsOfChannels.has(shard))))) return null
      // A node that was stopped or slow may not have read the bus yet: only once it has can it
      // know whether what the client missed was trimmed away unread.
      try {
        await busCaughtUp()
      } catch {
        return null
      }
      // Subscribe, then read: what is applied from now on is captured, what was is read.
      const after = new Map(session.from.map(([channel, position]) => [channel, later(positionIn(offset, shardOf(channel)), position)]))
      const capture: Capture = { channels: new Set(after.keys()), events: [], overflowed: false }
      captures.add(capture)
      const upTo: Clock = new Map(applied)
      let missed = history.read(after, upTo)
      // Not kept here (a node restarted or new since): the bus may still hold them.
      if (missed === undefined) missed = await readBack(after, upTo).catch(() => undefined)
      if (missed === undefined || capture.overflowed) {
        captures.delete(capture)
        onUnrecoverable?.()
        return null
      }
      const timer = setTimeout(() => dropPending(session.sid), PENDING_RESTORE_MS)
      timer.unref()
      pending.set(session.sid, { session, after, missed, capture, timer })
      return { sid: session.sid, pid: session.pid, rooms: [], data: session.data, missedPackets: [] }
    },

    /** Once the middlewares accepted the connection: joins its channels and sends what it missed, in one step. */
    complete (socket: BridgeSocket): boolean {
      const restore = pending.get(socket.id)
      if (restore === undefined) return false
      dropPending(socket.id)
      if (restore.capture.overflowed) {
        onUnrecoverable?.()
        socket.conn.close()
        return true
      }
      // Should it drop again before reading what follows, its next session starts where this one did.
      rejoining(socket.id, restore.after)
      for (const room of restore.session.rooms) socket.join(room)
      replay(socket, [...missedWithOffsets(restore.missed), ...restore.capture.events])
      return true
    },

    /** Events may have been lost: restores under way cannot vouch for what they capture. */
    lost (): void {
      for (const capture of captures) capture.overflowed = true
    },

    get pendingRestores (): number {
      return pending.size
    },

    close (): void {
      for (const sid of [...pending.keys()]) dropPending(sid)
      for (const check of waitingForPosition) check()
    }
  }
}

export type Recovery = ReturnType<typeof createRecovery>
