// Missed-event recovery, owned by the bridge rather than left to socket.io's adapter, so that
// it has a memory budget, costs nothing for channels nobody could miss, and never reports a
// recovered session with a gap (docs/recovery.md has the reasoning).
//
// socket.io keeps the protocol: the client sends back its session id and the offset of the
// last event it got, and `socket.recovered` is true when the server answers with the same
// session. Through the adapter's `persistSession`/`restoreSession` hooks the bridge decides:
// it restores a session only when every event after that offset in the session's channels is
// still kept, and it starts capturing new events for those channels before it reads the kept
// ones (subscribe, then read). The socket joins its channels and gets the missed and captured
// events in one synchronous step once the connection middlewares have accepted it again, so
// nothing is sent to a connection that is refused, and nothing can slip in between.
import type { SessionStore, StoredSession } from '../backplane/backplane.ts'
import { compare, later, START, type Position } from '../backplane/positions.ts'
import type { EncodedEvent } from '../channels/delivery.ts'
import type { BridgeServer, BridgeSocket } from '../schemas/socket.ts'
import { channelsOf, subscriptionOf } from './rooms.ts'

/** An applied event and its position. */
export interface PositionedEvent {
  position: Position
  event: EncodedEvent
}

/** Where kept events are read from. */
export interface History {
  /**
   * The kept events of each channel after its position, up to and including `upTo`, in
   * order; undefined when one of them is no longer (or was never) kept.
   */
  read (after: ReadonlyMap<string, Position>, upTo: Position): PositionedEvent[] | undefined
}

export interface RecoveryOptions {
  io: BridgeServer
  /** Writes the events a restored socket missed, in order, in the format of its subscriptions. */
  replay: (socket: BridgeSocket, events: Iterable<{ event: EncodedEvent, offset: string }>) => void
  sessions: SessionStore
  history: History
  formatOffset: (position: Position) => string
  parseOffset: (offset: string) => Position | undefined
  /**
   * How long before a disconnect was noticed the connection may already have been dead
   * (Engine.IO's ping interval and timeout, and a margin): events applied earlier reached
   * the client. A quiet client's offset can be much older.
   */
  deadConnectionMs: number
  /** Longest wait for this node to apply what a reconnecting client already got elsewhere. */
  catchUpMs?: number
  /** A session was kept: its channels' events must be kept too while it may come back. */
  onPersist?: (channels: ReadonlySet<string>) => void
  /** Where a socket joined each of its channels (the position applied then). */
  joinedAt: (sid: string) => ReadonlyMap<string, Position> | undefined
  /**
   * A restored socket is about to rejoin its channels: what it is sent starts after these
   * positions, not at the position applied now, until the client has read it.
   */
  rejoining: (sid: string, from: ReadonlyMap<string, Position>) => void
  /**
   * The session of a socket that is still live, as far as its node knows, or of a node that
   * died (at `diedAt`): the client is back before the old connection was seen closed.
   */
  live: (pid: string) => Promise<{ session: StoredSession, diedAt?: number } | undefined>
  now?: () => number
}

interface Capture {
  channels: ReadonlySet<string>
  events: PositionedEvent[]
  /** Past this many events the restore is given up (the client reconnects without recovery). */
  overflowed: boolean
}

interface PendingRestore {
  session: StoredSession
  /** Per channel, the position after which the restored socket is sent events. */
  after: ReadonlyMap<string, Position>
  missed: PositionedEvent[]
  capture: Capture
  timer: NodeJS.Timeout
}

/** How long a dropped client may stay away and still get the events it missed. */
export const RECOVERY_WINDOW_MS = 2 * 60 * 1000

/**
 * Engine.IO notices a dead connection within its ping interval and timeout (25 s + 20 s);
 * with a margin, events applied this long before a disconnect was noticed reached the client.
 */
export const DEAD_CONNECTION_MS = 60_000

/** A session the middlewares have not accepted yet is forgotten after this. */
const PENDING_RESTORE_MS = 10_000
/** Most events captured for one pending restore. */
const MAX_CAPTURED = 10_000

export function createRecovery (options: RecoveryOptions) {
  const { io, replay, sessions, history, formatOffset, parseOffset, deadConnectionMs, catchUpMs = 2000, onPersist, joinedAt, rejoining, live, now = Date.now } = options
  let applied: Position = START
  /** [time, position applied by then], at most one a second, for a session's `from`. */
  const samples: Array<[number, Position]> = []
  const maxSamples = Math.ceil(deadConnectionMs / 1000) + 10
  const captures = new Set<Capture>()
  const pending = new Map<string, PendingRestore>()
  /** Engine.IO connections cut loose with events waiting for them: only their offset tells what they got. */
  const cutLoose = new WeakSet<object>()
  const waitingForPosition = new Set<() => void>()
  /** Sockets closed because their client came back on a new connection. */
  const takenOver = new WeakSet<object>()

  /** A position applied before `time`, the latest one known; START when none is that old. */
  function appliedBefore (time: number): Position {
    for (let i = samples.length - 1; i >= 0; i--) {
      const [at, position] = samples[i] as [number, Position]
      if (at <= time) return position
    }
    return START
  }

  function caughtUp (position: Position): Promise<boolean> {
    if (compare(applied, position) >= 0) return Promise.resolve(true)
    return new Promise((resolve) => {
      const check = () => {
        if (compare(applied, position) < 0) return
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

  /**
   * A live socket's session. Its client's offset tells what it got (the connection's end is not
   * known), or, when its node died, what was applied well before that.
   */
  async function liveSession (pid: string): Promise<StoredSession | undefined> {
    const found = await live(pid)
    if (found === undefined) return undefined
    if (found.diedAt === undefined) return found.session
    const alive = appliedBefore(found.diedAt - deadConnectionMs)
    return { ...found.session, from: found.session.from.map(([channel, position]) => [channel, later(alive, position)]) }
  }

  function dropPending (sid: string): void {
    const restore = pending.get(sid)
    if (restore === undefined) return
    pending.delete(sid)
    clearTimeout(restore.timer)
    captures.delete(restore.capture)
  }

  return {
    /** The offset of the last applied event: sent with events that are not themselves kept. */
    currentOffset (): string {
      return formatOffset(applied)
    },

    /** The position of the last applied event. */
    get position (): Position {
      return applied
    },

    /** Everything up to `position` is applied (an event, or a bus message without one). */
    advance (position: Position): void {
      if (compare(position, applied) <= 0) return
      applied = position
      const time = now()
      const last = samples.at(-1)
      if (last === undefined || time - last[0] >= 1000) {
        samples.push([time, position])
        if (samples.length > maxSamples) samples.shift()
      }
      for (const check of waitingForPosition) check()
    },

    /** Records an applied event: captured for pending restores of its channel. */
    applied (position: Position, event: EncodedEvent): void {
      this.advance(position)
      if (!event.ephemeral) {
        for (const capture of captures) {
          if (!capture.channels.has(event.channel)) continue
          if (capture.events.length >= MAX_CAPTURED) capture.overflowed = true
          else capture.events.push({ position, event })
        }
      }
    },

    /** Whether a restore in progress waits for events of this channel. */
    capturing (channel: string): boolean {
      for (const capture of captures) if (capture.channels.has(channel)) return true
      return false
    },

    /** Whether the socket was closed because its client came back on a new connection. */
    takenOver (socket: BridgeSocket): boolean {
      return takenOver.has(socket)
    },

    /** The connection (`socket.conn`) was cut loose with packets still waiting: its offset alone tells what it got. */
    cutLoose (conn: object): void {
      cutLoose.add(conn)
    },

    /** socket.io's `persistSession`: a connection was lost in a way the client may recover from. */
    persist (session: { sid: string, pid: string, rooms: string[], data: unknown }): void {
      const socket = io.of('/').sockets.get(session.sid)
      const rooms = session.rooms.filter((room) => subscriptionOf(room) !== undefined)
      const channels = channelsOf(rooms)
      onPersist?.(channels)
      const alive = socket === undefined || !cutLoose.has(socket.conn) ? appliedBefore(now() - deadConnectionMs) : START
      const joined = joinedAt(session.sid)
      sessions.save({
        sid: session.sid,
        pid: session.pid,
        rooms,
        data: session.data,
        from: [...channels].map((channel) => [channel, later(alive, joined?.get(channel) ?? START)])
      })
    },

    /**
     * socket.io's `restoreSession`: the session, without its rooms and missed events (they
     * follow once the middlewares accept the connection), or null when the client must start
     * over (`socket.recovered === false`): unknown or expired session, unknown offset, or a
     * missed event that is no longer kept.
     */
    async restore (pid: string, offsetText: string) {
      const offset = parseOffset(offsetText)
      if (offset === undefined) return null
      // Looked for again after the live one: a node that notices the disconnect meanwhile stores
      // the session before it drops the live record, so one of the three finds it.
      const session = await sessions.take(pid) ?? await liveSession(pid) ?? await sessions.take(pid)
      if (session === undefined || pending.has(session.sid)) return null
      // Its old connection here is dead (the client says so by coming back): close it; the
      // restored socket takes over what it had (same id).
      const old = io.of('/').sockets.get(session.sid)
      if (old !== undefined) {
        takenOver.add(old)
        onPersist?.(channelsOf(session.rooms))
        old.disconnect(true)
      }
      // The client got events this node has not applied yet (it was on a node ahead of this one).
      if (!await caughtUp(offset)) return null
      // Subscribe, then read: what is applied from now on is captured, what was is read.
      const after = new Map(session.from.map(([channel, position]) => [channel, later(offset, position)]))
      const capture: Capture = { channels: new Set(after.keys()), events: [], overflowed: false }
      captures.add(capture)
      const missed = history.read(after, applied)
      if (missed === undefined || capture.overflowed) {
        captures.delete(capture)
        return null
      }
      const timer = setTimeout(() => dropPending(session.sid), PENDING_RESTORE_MS)
      timer.unref()
      pending.set(session.sid, { session, after, missed, capture, timer })
      return { sid: session.sid, pid: session.pid, rooms: [], data: session.data, missedPackets: [] }
    },

    /**
     * Completes a restore once the middlewares have accepted the connection again: joins the
     * socket to its channels and sends what it missed, in one step. False when there was none.
     */
    complete (socket: BridgeSocket): boolean {
      const restore = pending.get(socket.id)
      if (restore === undefined) return false
      dropPending(socket.id)
      if (restore.capture.overflowed) {
        // Too much arrived meanwhile: the client reconnects and starts over.
        socket.conn.close()
        return true
      }
      // If the client drops again before it has read what follows, its next session must
      // start where this one did, not where the bridge was when it rejoined.
      rejoining(socket.id, restore.after)
      for (const room of restore.session.rooms) socket.join(room)
      const events = restore.missed.concat(restore.capture.events)
      replay(socket, events.map(({ position, event }) => ({ event, offset: formatOffset(position) })))
      return true
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
