// The transport: the one place that knows whether the bridge runs alone or as a cluster on
// Redis. Everything else asks it to deliver events to a channel's subscribers, to subscribe
// sockets, for presence members, to count who is in a channel, and for the de-duplication
// store it picked. Behind it, every node applies the same ordered bus of messages
// (src/transport/bus.ts): events, which channels to keep events for, presence changes.
import type { LogFn } from 'pino'
import type { Config } from '../config/index.ts'
import { RedisUnavailable } from '../http/errors.ts'
import type { BridgeServer, BridgeSocket } from '../schemas/socket.ts'
import { bridgeAdapter } from './adapter.ts'
import type { Answer, Bus, BusHandler, BusMessage, Question } from './bus.ts'
import { channelOf, internalRoom, subscriptionOf, type SubscriptionKind } from './channels.ts'
import { NODE_TIMEOUT_MS, startClusterBus } from './cluster-bus.ts'
import { encodeEvent, type Delivery } from './events.ts'
import { createFanOut, type FanOutInternals } from './fan-out.ts'
import { checkClaimEviction } from './idempotency/eviction-policy.ts'
import { MemoryIdempotencyStore } from './idempotency/memory-store.ts'
import { RedisIdempotencyStore } from './idempotency/redis-store.ts'
import type { IdempotencyStore } from './idempotency/store.ts'
import { createInterest } from './interest.ts'
import { createLocalBus } from './local-bus.ts'
import { compare, type Position } from './positions.ts'
import { createPresence, type Member } from './presence.ts'
import { createRecovery, DEAD_CONNECTION_MS, RECOVERY_WINDOW_MS } from './recovery.ts'
import { createRecoveryLog } from './recovery-log.ts'
import { createMemorySessionStore, createRedisSessionStore, type StoredSession } from './session-store.ts'

export type { Delivery } from './events.ts'
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

/** The log calls the transport makes (the app's pino logger). */
export interface Log {
  debug: LogFn
  info: LogFn
  warn: LogFn
  error: LogFn
}

/** The socket.io internals the transport reads, from plugins/patches/socket-internals.ts. */
export interface TransportInternals extends FanOutInternals {
  /** socket.io's private session id of a socket: what a reconnecting client names its session by. */
  sessionId: (socket: BridgeSocket) => string | undefined
}

export interface TransportOptions {
  io: BridgeServer
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

/** A starting node hears every live node's heartbeat within this. */
const HEARD_FROM_ALL_WITHIN_MS = 1200
/** Longest a starting node waits for the other nodes' snapshots. */
const STARTUP_SNAPSHOTS_WITHIN_MS = 4000

/** Disconnect reasons after which socket.io keeps the session for recovery. */
const RECOVERABLE = new Set(['transport close', 'transport error', 'ping timeout', 'forced close', 'server shutting down', 'forced server close'])

/** Longest wait for a channel's events to be kept across the cluster. */
const KEPT_WITHIN_MS = 2000

/** Kept events outlive the recovery window by the time a dead connection can go unnoticed. */
const KEEP_EVENTS_MS = RECOVERY_WINDOW_MS + DEAD_CONNECTION_MS + 30_000

function unavailable (what: string): Error {
  return new RedisUnavailable(`Redis is unreachable (cluster mode); ${what}, retry later`)
}

/** The store, answering a 503 error (nothing was claimed) whenever Redis cannot take the claim. */
function unavailableWithoutRedis (store: IdempotencyStore, ready: () => boolean): IdempotencyStore {
  return {
    async claim (uuid, ttlSeconds) {
      if (!ready()) throw unavailable('nothing was published')
      try {
        return await store.claim(uuid, ttlSeconds)
      } catch (error) {
        throw new RedisUnavailable(`could not claim the uuid in Redis (cluster mode; ${String(error)}); nothing was published, retry later`)
      }
    },
    async claimAll (uuids, ttlSeconds) {
      if (!ready()) throw unavailable('nothing was published')
      try {
        return await store.claimAll(uuids, ttlSeconds)
      } catch (error) {
        throw new RedisUnavailable(`could not claim in Redis (cluster mode; ${String(error)}); nothing was published, retry later`)
      }
    },
    release: (uuid) => store.release(uuid),
    close: () => store.close()
  }
}

export async function createTransport ({ io, internals, config, log, onSlowSocket }: TransportOptions) {
  const nsp = io.of('/')
  const cluster = config.redisUrl === undefined
    ? undefined
    : await startClusterBus({ url: config.redisUrl, prefix: config.redisPrefix, log, maxEntries: config.redisStreamMaxEntries })
  if (cluster !== undefined) await checkClaimEviction(cluster.client, log, config.redisUrl as string)
  const bus: Bus = cluster?.bus ?? createLocalBus()
  const claims: IdempotencyStore = cluster === undefined
    ? new MemoryIdempotencyStore({ maxEntries: config.idempotencyMaxEntries })
    : unavailableWithoutRedis(new RedisIdempotencyStore(cluster.client, `${config.redisPrefix}idempotency:`), bus.ready)
  const sessions = cluster === undefined
    ? createMemorySessionStore({ ttlMs: RECOVERY_WINDOW_MS })
    : createRedisSessionStore(cluster.client, `${config.redisPrefix}session:`, { ttlMs: RECOVERY_WINDOW_MS }, cluster.bus.nodeId)
  const history = createRecoveryLog({ maxBytes: config.recoveryMaxBytes, keepMs: KEEP_EVENTS_MS })

  /** Messages this node sends besides events: the bus's order makes every node agree. */
  function announce (message: BusMessage): void {
    bus.send(message).catch((error: unknown) => {
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
    formatOffset: bus.formatOffset,
    parseOffset: bus.parseOffset,
    deadConnectionMs: DEAD_CONNECTION_MS,
    // Before the socket leaves its rooms: the channels stay interesting without a gap.
    onPersist: (channels) => interest.hold(channels, RECOVERY_WINDOW_MS),
    joinedAt: (sid) => joined.get(sid),
    rejoining: (sid, from) => { joined.set(sid, new Map(from)) },
    async live (pid) {
      if (cluster === undefined) {
        // On one node the live socket itself is the record: nothing is copied per socket.
        const session = liveSessionOf(pid)
        return session === undefined ? undefined : { session }
      }
      // The client's old node is one the bus knows: alive, or dead within the window.
      for (const node of new Set([...deadNodes.keys(), ...cluster.nodes()])) {
        const session = await sessions.takeLive(pid, node)
        if (session !== undefined) return { session, diedAt: deadNodes.get(node)?.diedAt }
      }
      return undefined
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
    // On one node the live sockets are looked up when needed (liveSessionOf).
    if (cluster === undefined) return
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
      sessions.live(sessionOf(socket, pid))
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

  function snapshot (): void {
    announce({ type: 'snapshot', interest: interest.local(), presence: presence.localMembers() })
  }

  /** Nodes whose snapshot this node has applied since it started. */
  const snapshotsFrom = new Set<string>()

  /**
   * A node that starts learns what the others have (their snapshots answer its hello) before
   * it takes connections, so the first presence members it gives are complete: it waits until
   * every node it has heard from sent one, after a heartbeat's time to hear from them all.
   */
  async function othersKnown (nodes: () => string[]): Promise<void> {
    const started = Date.now()
    while (Date.now() - started < STARTUP_SNAPSHOTS_WITHIN_MS) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      if (Date.now() - started < HEARD_FROM_ALL_WITHIN_MS) continue
      if (nodes().every((node) => node === bus.nodeId || snapshotsFrom.has(node))) return
    }
    log.warn({ nodes: nodes().length, snapshots: snapshotsFrom.size }, 'cluster mode: started without every node\'s presence members; they follow')
  }

  /**
   * Nodes that died within the recovery window: their clients may restore their sessions
   * here, so the channels they were interested in stay kept until then (unless they are back).
   */
  const deadNodes = new Map<string, { diedAt: number, timer: NodeJS.Timeout }>()

  function nodeDied (node: string): void {
    presence.forget(node)
    if (deadNodes.has(node)) return
    const timer = setTimeout(() => {
      deadNodes.delete(node)
      interest.forget(node)
    }, RECOVERY_WINDOW_MS)
    timer.unref()
    // Its sockets went with its last heartbeat, a timeout before it was declared dead.
    deadNodes.set(node, { diedAt: Date.now() - NODE_TIMEOUT_MS, timer })
  }

  const handler: BusHandler = {
    apply (position, node, message) {
      const dead = deadNodes.get(node)
      if (dead !== undefined) {
        // It was only paused: it is back, with what it had.
        clearTimeout(dead.timer)
        deadNodes.delete(node)
      }
      switch (message.type) {
        case 'events':
          message.events.forEach((event, index) => {
            const at: Position = [position[0], position[1], index]
            recovery.applied(at, event)
            if (!event.ephemeral && interest.keptSince(event.channel) !== undefined) history.append(at, event)
            fanOut.deliver(event, bus.formatOffset(at))
          })
          return
        case 'interest':
          interest.apply(position, node, message.changes)
          break
        case 'presence':
          presence.apply(node, message.changes)
          break
        case 'snapshot':
          interest.replace(position, node, message.interest)
          presence.replace(node, message.presence)
          snapshotsFrom.add(node)
          break
        case 'hello':
          if (node !== bus.nodeId) snapshot()
          break
        case 'dead':
          if (message.node === bus.nodeId) {
            // Taken for dead while alive (a long pause): tell the others what this node has.
            snapshot()
          } else {
            nodeDied(message.node)
          }
          break
      }
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
      snapshot()
    },
    answer (question: Question): Answer {
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

  async function askEveryNode (question: Question, what: string): Promise<Answer[]> {
    if (!bus.ready()) throw unavailable(what)
    try {
      return await bus.ask(question)
    } catch (error) {
      log.warn({ question: question.type, reason: String(error) }, 'the cluster did not answer in time')
      throw new RedisUnavailable('Not every node answered in time (cluster mode); retry later')
    }
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
    if (pid !== undefined && !RECOVERABLE.has(reason)) sessions.ended(pid)
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

  await bus.start(handler)
  if (cluster !== undefined) await othersKnown(cluster.nodes)

  return {
    /** `cluster` when REDIS_URL is set: events, de-duplication, presence and counts span every node. */
    mode: cluster === undefined ? 'single-node' as const : 'cluster' as const,

    /** False while the cluster's Redis is unreachable: deliveries would not reach other nodes. */
    ready: (): boolean => bus.ready(),

    /** Claims uuids (and signatures) once per window, on every node of a cluster. */
    claims,

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
      if (!bus.ready()) throw unavailable('nothing was published')
      // Ephemeral events (whispers) never enter the stream: nothing keeps them past delivery.
      const ephemeral = events.filter((event) => event.ephemeral === true)
      const kept = ephemeral.length === 0 ? events : events.filter((event) => event.ephemeral !== true)
      try {
        await Promise.all([
          kept.length > 0 && bus.send({ type: 'events', events: kept }),
          ephemeral.length > 0 && bus.sendEphemeral(ephemeral)
        ])
      } catch (error) {
        log.warn({ reason: String(error) }, 'delivery failed: Redis did not store the events')
        throw new RedisUnavailable('Redis did not store the event (cluster mode); retry later')
      }
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
      const answers = await askEveryNode({ type: 'count', channel: name }, 'the room cannot be counted')
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
      const answers = await askEveryNode({ type: 'channels', prefix }, 'the channels cannot be listed')
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
        const members = presence.join(socket.id, channel, member)
        if (cluster === undefined) return members
        // The members every node had announced before this join, not only those read so far.
        try {
          await bus.caughtUp()
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
      await sessions.close()
      await claims.close()
      await bus.close()
    }
  }
}

type Emit = (event: string, ...args: unknown[]) => boolean

export type Transport = Awaited<ReturnType<typeof createTransport>>
