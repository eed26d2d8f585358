// The transport: delivers events to a channel's subscribers on every node, subscribes
// sockets, answers presence members and who is in a channel. It is the same on every
// deployment: the backplane it is given (src/backplane/) carries the ordered bus of messages
// every node applies (events, which channels to keep events for, presence changes).
import type { Backplane, BusMessage, NodeHandler, StoredSession } from '../backplane/backplane.ts'
import { compare, type Position } from '../backplane/positions.ts'
import { encodeEvent, type Delivery } from '../channels/delivery.ts'
import type { Member } from '../channels/member.ts'
import { channelOf, type SubscriptionKind } from '../channels/names.ts'
import type { Config } from '../config/index.ts'
import type { Log } from '../ops/log.ts'
import type { BridgeServer, BridgeSocket } from '../schemas/socket.ts'
import { bridgeAdapter } from './adapter.ts'
import { createFanOut, type FanOutInternals } from './fan-out.ts'
import { createInterest } from './interest.ts'
import { createPresence } from './presence.ts'
import { createRecovery, DEAD_CONNECTION_MS, RECOVERY_WINDOW_MS } from './recovery.ts'
import { createRecoveryLog } from './recovery-log.ts'
import { internalRoom, subscriptionOf } from './rooms.ts'

export type { Delivery } from '../channels/delivery.ts'
export type { Member } from './presence.ts'

/** Who is in a channel: sockets, and the distinct users behind them. */
export interface ChannelCount {
  subscribers: number
  users: number
}

/** A channel with subscribers, and how many. */
export interface ChannelListing {
  name: string
  subscribers: number
}

/** The socket.io internals the transport reads, from plugins/patches/socket-internals.ts. */
export interface TransportInternals extends FanOutInternals {
  /** socket.io's private session id of a socket: what a reconnecting client names its session by. */
  sessionId: (socket: BridgeSocket) => string | undefined
}

export interface TransportOptions {
  io: BridgeServer
  backplane: Backplane
  internals: TransportInternals
  config: Config
  log: Log
  /** Called for each connection disconnected for not reading what it is sent. */
  onSlowSocket?: () => void
}

/**
 * A presence member whose socket dropped stays a member this long, so that a client back at
 * once (a network blip, a node's shutdown) causes no `leaving` and `joining`.
 */
export const PRESENCE_GRACE_MS = 5000

/** Disconnect reasons after which socket.io keeps the session for recovery. */
const RECOVERABLE = new Set(['transport close', 'transport error', 'ping timeout', 'forced close', 'server shutting down', 'forced server close'])

/** Longest wait for a channel's events to be kept across the cluster. */
const KEPT_WITHIN_MS = 2000

/** Kept events outlive the recovery window by the time a dead connection can go unnoticed. */
const KEEP_EVENTS_MS = RECOVERY_WINDOW_MS + DEAD_CONNECTION_MS + 30_000

export async function createTransport ({ io, backplane, internals, config, log, onSlowSocket }: TransportOptions) {
  const nsp = io.of('/')
  const { sessions } = backplane
  const history = createRecoveryLog({ maxBytes: config.recoveryMaxBytes, keepMs: KEEP_EVENTS_MS })

  /** Messages this node sends besides events: the bus's order makes every node agree. */
  function announce (message: BusMessage): void {
    backplane.send(message).catch((error: unknown) => {
      // Redis is away: every node re-sends its snapshot once it is back (the bus's `lost`).
      log.debug({ type: message.type, reason: String(error) }, 'bus message not sent')
    })
  }

  const fanOut = createFanOut({
    io,
    internals,
    maxBufferedBytes: config.maxBufferedBytes,
    onSlowSocket (conn, socket) {
      recovery.cutLoose(conn)
      onSlowSocket?.()
      log.info({ socketId: socket?.id, maxBufferedBytes: config.maxBufferedBytes }, 'socket disconnected: it does not read what it is sent')
    }
  })
  const interest = createInterest((changes) => announce({ type: 'interest', changes }), () => recovery.position)
  const presence = createPresence(
    (changes) => announce({ type: 'presence', changes }),
    (channel, event, member, except, only) => {
      const room = internalRoom('echo', channel)
      if (only === undefined) {
        ;(io.to(room).except([...except]).emit as Emit)(event, channel, member)
        return
      }
      for (const sid of only) {
        const socket = nsp.sockets.get(sid)
        if (socket?.rooms.has(room) === true) (socket.emit as Emit)(event, channel, member)
      }
    }
  )
  const recovery = createRecovery({
    io,
    fanOut,
    sessions,
    formatOffset: backplane.formatOffset,
    parseOffset: backplane.parseOffset,
    deadConnectionMs: DEAD_CONNECTION_MS,
    // Before the socket leaves its rooms: the channels stay interesting without a gap.
    onPersist: (channels) => interest.hold(channels, RECOVERY_WINDOW_MS),
    joinedAt: (sid) => joined.get(sid),
    rejoining: (sid, from) => { joined.set(sid, new Map(from)) },
    async live (pid) {
      // This node's own live socket is its record; another node's, a copy where there are any.
      const session = liveSessionOf(pid)
      return session === undefined ? await sessions.live?.take(pid) : { session }
    },
    history: {
      read (after: ReadonlyMap<string, Position>, upTo: Position) {
        // Each channel must have been kept since before its position, and nothing after the
        // earliest one dropped.
        let earliest: Position | undefined
        for (const [channel, position] of after) {
          const since = interest.keptSince(channel)
          if (since === undefined || compare(since, position) > 0) return undefined
          if (earliest === undefined || compare(position, earliest) < 0) earliest = position
        }
        if (earliest === undefined) return []
        if (!history.complete(earliest)) return undefined
        return history.read(earliest, upTo, new Set(after.keys()))
          .filter(({ position, event }) => compare(position, after.get(event.channel) ?? upTo) > 0)
      }
    }
  })

  io.adapter(bridgeAdapter(recovery))
  // A channel is interesting while a socket of this node is subscribed to it (either kind).
  nsp.adapter.on('create-room', (room: string) => {
    const name = subscriptionOf(room)?.channel
    if (name !== undefined) interest.add(name)
  })
  nsp.adapter.on('delete-room', (room: string) => {
    const name = subscriptionOf(room)?.channel
    if (name !== undefined) interest.remove(name)
  })
  /** sid → channel → the position applied when the socket joined it (either kind, the first). */
  const joined = new Map<string, Map<string, Position>>()
  nsp.adapter.on('join-room', (room: string, sid: string) => {
    const name = subscriptionOf(room)?.channel
    if (name === undefined) return
    let channels = joined.get(sid)
    if (channels === undefined) {
      channels = new Map()
      joined.set(sid, channels)
    }
    if (!channels.has(name)) channels.set(name, recovery.position)
    sessionChanged(sid)
  })
  /**
   * The sessions of live sockets are kept as they change (in Redis in a cluster: a node may
   * die), for a client back before its old connection was seen closed.
   */
  const changedSessions = new Set<string>()
  function sessionChanged (sid: string): void {
    // Without copies (every live socket is this node's own), they are looked up when needed.
    if (sessions.live === undefined) return
    if (changedSessions.size === 0) queueMicrotask(writeLiveSessions)
    changedSessions.add(sid)
  }
  function sessionOf (socket: BridgeSocket, pid: string): StoredSession {
    const rooms = [...socket.rooms].filter((room) => subscriptionOf(room) !== undefined)
    return { sid: socket.id, pid, rooms, data: socket.data, from: [...joined.get(socket.id) ?? []] }
  }
  function writeLiveSessions (): void {
    for (const sid of changedSessions) {
      const socket = nsp.sockets.get(sid)
      const pid = socket === undefined ? undefined : internals.sessionId(socket)
      if (socket === undefined || !socket.connected || pid === undefined) continue
      sessions.live?.changed(sessionOf(socket, pid))
    }
    changedSessions.clear()
  }
  /** The session of this node's live socket whose client names it `pid`, if there is one. */
  function liveSessionOf (pid: string): StoredSession | undefined {
    for (const socket of nsp.sockets.values()) {
      if (socket.connected && internals.sessionId(socket) === pid) return sessionOf(socket, pid)
    }
    return undefined
  }

  nsp.adapter.on('leave-room', (room: string, sid: string) => {
    const name = subscriptionOf(room)?.channel
    const channels = joined.get(sid)
    if (name !== undefined) sessionChanged(sid)
    if (name === undefined || channels === undefined) return
    for (const kind of ['room', 'echo'] as const) if (nsp.adapter.rooms.get(internalRoom(kind, name))?.has(sid) === true) return
    channels.delete(name)
    if (channels.size === 0) joined.delete(sid)
  })

  const handler: NodeHandler = {
    apply (position, _node, message) {
      switch (message.type) {
        case 'events':
          message.events.forEach((event, index) => {
            const at: Position = [position[0], position[1], index]
            recovery.applied(at, event)
            if (!event.ephemeral && interest.keptSince(event.channel) !== undefined) history.append(at, event)
            fanOut.deliver(event, backplane.formatOffset(at))
          })
          return
        case 'interest':
          interest.apply(position, _node, message.changes)
          break
        case 'presence':
          presence.apply(_node, message.changes)
          break
        case 'snapshot':
          interest.replace(position, _node, message.interest)
          presence.replace(_node, message.presence)
          break
      }
      recovery.advance(position)
    },
    passed (position) {
      recovery.advance(position)
    },
    deliver (events) {
      // Not kept: they carry the offset of the last applied event, which a client may resume from.
      const offset = recovery.currentOffset()
      for (const event of events) fanOut.deliver(event, offset)
    },
    lost () {
      // Every event up to now may be missing here: no session can recover from before it.
      history.lostThrough(recovery.position)
    },
    state: () => ({ interest: interest.local(), presence: presence.localMembers() }),
    nodeDied: (node) => presence.forget(node),
    nodeForgotten: (node) => interest.forget(node),
    answer (question) {
      if (question.type === 'count') return { type: 'count', ...localCount(question.channel) }
      return { type: 'channels', channels: localChannels(question.prefix) }
    }
  }

  /** Sockets subscribed to `name` (either kind) on this node and their users. */
  function localCount (name: string): { subscribers: number, users: string[] } {
    const ids = new Set<string>()
    for (const kind of ['room', 'echo'] as const) for (const id of nsp.adapter.rooms.get(internalRoom(kind, name)) ?? []) ids.add(id)
    const users = new Set<string>()
    for (const id of ids) {
      const userId = nsp.sockets.get(id)?.data.userId
      if (userId !== undefined) users.add(userId)
    }
    return { subscribers: ids.size, users: [...users] }
  }

  function localChannels (prefix: string): Array<[string, number]> {
    const counts = new Map<string, Set<string>>()
    for (const [room, members] of nsp.adapter.rooms) {
      const name = subscriptionOf(room)?.channel
      if (name === undefined || !name.startsWith(prefix)) continue
      const ids = counts.get(name) ?? new Set()
      for (const id of members) ids.add(id)
      counts.set(name, ids)
    }
    return [...counts].map(([name, ids]) => [name, ids.size])
  }

  /** Presence members whose socket dropped, until the grace ends: sid → channels. */
  const leavingLater = new Map<string, { timer: NodeJS.Timeout, channels: string[], done: () => void, left: Promise<void> }>()

  function leavePresenceNow (sid: string, channels: Iterable<string>): void {
    for (const channel of channels) presence.leave(sid, channel)
  }

  io.on('connection', (socket) => {
    if (recovery.complete(socket)) {
      // A restored session: its presence memberships continue, announcing nothing new.
      const waiting = leavingLater.get(socket.id)
      if (waiting !== undefined) {
        clearTimeout(waiting.timer)
        leavingLater.delete(socket.id)
        waiting.done()
      }
      for (const [channel, member] of Object.entries(socket.data.presence ?? {})) presence.restore(socket.id, channel, member)
    }
    ;(socket as unknown as { on: (event: 'disconnect', listener: typeof onDisconnect) => void }).on('disconnect', onDisconnect)
  })

  /** Shared by every socket (socket.io calls it with the socket as `this`): nothing per socket. */
  function onDisconnect (this: BridgeSocket, reason: string): void {
    const socket = this
    // Its client is back on a new connection that carries on from here (same id).
    if (recovery.takenOver(socket)) return
    // A session that is not kept for recovery is not kept as a live one either.
    const pid = internals.sessionId(socket)
    if (pid !== undefined && !RECOVERABLE.has(reason)) sessions.live?.ended(pid)
    const channels = Object.keys(socket.data.presence ?? {})
    if (channels.length === 0) return
    if (!RECOVERABLE.has(reason)) return leavePresenceNow(socket.id, channels)
    let done = () => {}
    const left = new Promise<void>((resolve) => { done = resolve })
    const timer = setTimeout(() => {
      leavingLater.delete(socket.id)
      leavePresenceNow(socket.id, channels)
      done()
    }, PRESENCE_GRACE_MS)
    leavingLater.set(socket.id, { timer, channels, done, left })
  }

  await backplane.start(handler)

  return {
    /**
     * Delivers the events in order, all or nothing, and resolves once they are handed on: to
     * the sockets on a single node, stored in Redis for every node in a cluster (else it
     * rejects with a 503 error). Each event is encoded before anything else happens: one that
     * cannot be is a 400 error and nothing is delivered. Ephemeral events (whispers) are not
     * stored anywhere: in a cluster they go to every node over Redis pub/sub.
     */
    async deliver (deliveries: readonly Delivery[]): Promise<void> {
      const events = deliveries.map(encodeEvent)
      if (events.length === 0) return
      await backplane.publish(events)
    },

    /**
     * Emits an event to one socket that its client can recover from: once the events of the
     * socket's channels are kept, so that the offset it carries (the last applied event's)
     * is one a reconnecting client can resume from.
     */
    async emitRecoverable (socket: BridgeSocket, event: string, ...args: unknown[]): Promise<void> {
      const channels = [...socket.rooms].flatMap((room) => subscriptionOf(room)?.channel ?? [])
      try {
        await Promise.all(channels.map((channel) => interest.whenKept(channel, KEPT_WITHIN_MS)))
      } catch (error) {
        // Redis is away: the event goes anyway; a reconnect then starts over.
        log.debug({ socketId: socket.id, reason: String(error) }, 'channels not kept yet')
      }
      ;(socket.emit as Emit)(event, ...args)
    },

    /**
     * Subscribes the socket to what it names `name` as `kind` (a room, or an Echo channel); it
     * then gets that channel's events in the `kind`'s format.
     */
    join (socket: BridgeSocket, kind: SubscriptionKind, name: string): void {
      socket.join(internalRoom(kind, channelOf(kind, name)))
    },

    leave (socket: BridgeSocket, kind: SubscriptionKind, name: string): void {
      socket.leave(internalRoom(kind, channelOf(kind, name)))
    },

    isSubscribed (socket: BridgeSocket, kind: SubscriptionKind, name: string): boolean {
      return socket.rooms.has(internalRoom(kind, channelOf(kind, name)))
    },

    /** How many channels the socket is subscribed to as `kind`. */
    subscriptionCount (socket: BridgeSocket, kind: SubscriptionKind): number {
      let count = 0
      for (const room of socket.rooms) if (subscriptionOf(room)?.kind === kind) count += 1
      return count
    },

    /**
     * Sockets subscribed to channel `name` (either kind: room R counts as `private-R`) and their
     * distinct users, on every node.
     */
    async channelCount (name: string): Promise<ChannelCount> {
      const answers = await backplane.ask({ type: 'count', channel: name })
      let subscribers = 0
      const users = new Set<string>()
      for (const answer of answers) {
        if (answer.type !== 'count') continue
        subscribers += answer.subscribers
        for (const user of answer.users) users.add(user)
      }
      return { subscribers, users: users.size }
    },

    /** Channels with at least one subscriber whose name starts with `prefix`, on every node. */
    async channels (prefix = ''): Promise<ChannelListing[]> {
      const answers = await backplane.ask({ type: 'channels', prefix })
      const totals = new Map<string, number>()
      for (const answer of answers) {
        if (answer.type !== 'channels') continue
        for (const [name, subscribers] of answer.channels) totals.set(name, (totals.get(name) ?? 0) + subscribers)
      }
      return [...totals].map(([name, subscribers]) => ({ name, subscribers }))
    },

    /** Presence channels: members are users, however many sockets each has there. */
    presence: {
      /**
       * Subscribes the socket to the presence channel as an Echo subscriber and makes its
       * user a member; the channel's other sockets get `presence:joining` when this is the
       * user's first socket there (on any node). Answers every member, its own user included.
       */
      async join (socket: BridgeSocket, channel: string, member: Member): Promise<Member[]> {
        socket.join(internalRoom('echo', channel))
        socket.data.presence = { ...socket.data.presence, [channel]: member }
        presence.join(socket.id, channel, member)
        // The members every node had announced before this join, not only those read so far.
        try {
          await backplane.caughtUp()
        } catch (error) {
          log.debug({ channel, reason: String(error) }, 'presence members answered without catching up')
        }
        return presence.list(socket.id, channel, member)
      },
      /** Unsubscribes the socket; its user leaves (`presence:leaving`) with their last socket. */
      leave (socket: BridgeSocket, channel: string): void {
        socket.leave(internalRoom('echo', channel))
        if (socket.data.presence !== undefined) {
          const { [channel]: _left, ...others } = socket.data.presence
          socket.data.presence = others
        }
        presence.leave(socket.id, channel)
      },
      /** The channel's members across the cluster. */
      members (channel: string): Member[] {
        return presence.members(channel)
      },
      /** Presence channels with members, and how many users each has, across the cluster. */
      userCounts: presence.userCounts
    },

    /** Subscriptions (socket, channel pairs) and channels with a subscriber, on this node. */
    localStats () {
      let subscriptions = 0
      let channels = 0
      for (const [room, members] of nsp.adapter.rooms) {
        if (subscriptionOf(room) === undefined) continue
        channels += 1
        subscriptions += members.size
      }
      return { subscriptions, channels, keptEvents: history.stats(), keptChannels: interest.channels }
    },

    async close (): Promise<void> {
      // Members of sockets that just dropped leave once their grace is over (they may be back
      // on another node by then), while the bus is still there to say so.
      await Promise.all([...leavingLater.values()].map(({ left }) => left))
      presence.close()
      recovery.close()
    }
  }
}

type Emit = (event: string, ...args: unknown[]) => boolean

export type Transport = Awaited<ReturnType<typeof createTransport>>
