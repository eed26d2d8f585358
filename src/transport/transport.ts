// The transport: the one place that knows whether the bridge runs alone or as a cluster on
// Redis. Everything else asks it to deliver events to a channel's subscribers, to subscribe
// sockets, to count who is in a channel, and for the de-duplication store it picked.
import type { LogFn } from 'pino'
import type { Config } from '../config.ts'
import { RedisUnavailable } from '../errors.ts'
import type { BridgeServer, BridgeSocket } from '../schemas/socket.ts'
import { clientName, internalRoom, type SubscriptionKind } from './channels.ts'
import { createPresence, type Member } from './presence.ts'
import { within } from './deadline.ts'
import { MemoryIdempotencyStore } from './idempotency/memory-store.ts'
import { RedisIdempotencyStore } from './idempotency/redis-store.ts'
import type { IdempotencyStore } from './idempotency/store.ts'
import { COMMAND_TIMEOUT_MS, connectRedis, describeRedisUrl, RedisUnreachableError, STARTUP_WAIT_MS } from './redis-connection.ts'
import { clusterAdapter } from './streams-adapter.ts'

/** One event for the subscribers of one channel (a room, for the bridge's own protocol). */
export interface Delivery {
  /** The room or channel name clients subscribed to. */
  channel: string
  /** The event name listeners see. */
  event: string
  /** The event's data: JSON. */
  payload: unknown
  /** A socket id that must not get the event (Laravel's `toOthers()`, a whisper's sender). */
  except?: string
  /** Only subscribers of this kind get it (a whisper goes to Echo subscribers only). */
  only?: SubscriptionKind
  /** Not kept for missed-event recovery (a whisper: a typing indicator is stale a second later). */
  ephemeral?: boolean
}

/** Who is in a channel: sockets, and the distinct users behind them. */
export interface ChannelCount {
  subscribers: number
  users: number
}

/** The log calls the transport makes (the app's pino logger). */
export interface Log {
  debug: LogFn
  info: LogFn
  warn: LogFn
  error: LogFn
}

export interface TransportOptions {
  io: BridgeServer
  config: Config
  log: Log
}

/** How long the other nodes of a cluster get to report their sockets. */
const NODES_ANSWER_WITHIN_MS = 3000

type Emit = (event: string, ...args: unknown[]) => boolean

/**
 * Hands the events to socket.io: each to the channel's subscribers in the format they
 * subscribed with, `(event, payload)` for rooms and `(event, channel, payload)` for Echo.
 */
function emitAll (io: BridgeServer, deliveries: readonly Delivery[]): void {
  for (const { channel, event, payload, except, only } of deliveries) {
    if (only !== 'echo') {
      const rooms = io.to(internalRoom('room', channel))
      ;((except === undefined ? rooms : rooms.except(except)).emit as Emit)(event, payload)
    }
    if (only !== 'room') {
      const echo = io.to(internalRoom('echo', channel))
      ;((except === undefined ? echo : echo.except(except)).emit as Emit)(event, channel, payload)
    }
  }
}

/** A channel with subscribers, and how many. */
export interface ChannelListing extends ChannelCount {
  name: string
}

/** Sockets and distinct users among `sockets`. */
function countOf (sockets: Iterable<{ data: { userId?: string } }>): ChannelCount {
  let subscribers = 0
  const users = new Set<string>()
  for (const socket of sockets) {
    subscribers += 1
    if (socket.data.userId !== undefined) users.add(socket.data.userId)
  }
  return { subscribers, users: users.size }
}

/** The store, answering a 503 error (nothing was claimed) whenever Redis cannot take the claim. */
function unavailableWithoutRedis (store: IdempotencyStore, ready: () => boolean): IdempotencyStore {
  return {
    async claim (uuid, ttlSeconds) {
      if (!ready()) throw new RedisUnavailable('Redis is unreachable (cluster mode); nothing was published, retry later')
      try {
        return await store.claim(uuid, ttlSeconds)
      } catch (error) {
        throw new RedisUnavailable(`could not claim the uuid in Redis (cluster mode; ${String(error)}); nothing was published, retry later`)
      }
    },
    release: (uuid) => store.release(uuid),
    close: () => store.close()
  }
}

async function startCluster (io: BridgeServer, config: Config & { redisUrl: string }, log: Log) {
  const where = describeRedisUrl(config.redisUrl)
  const prefix = config.redisPrefix
  const client = await connectRedis(config.redisUrl, `${prefix}node:${process.pid}`)
  log.info({ redis: where }, 'cluster mode: connected to Redis')

  // One line when the connection goes and one when it is back, not one per retry.
  let lost = false
  client.on('error', (error: Error) => {
    if (lost || client.isReady) return
    lost = true
    log.error({ redis: where, reason: error.message }, 'Redis unreachable: /ready answers 503 and publishes are refused until it is back')
  })
  client.on('ready', () => {
    if (!lost) return
    lost = false
    log.info({ redis: where }, 'Redis reachable again')
  })

  const adapter = clusterAdapter(client, prefix)
  io.adapter(adapter.adapter)
  // Not started before the adapter reads the event stream: events other nodes published
  // meanwhile would not reach this node's sockets.
  try {
    await within(adapter.connected(), STARTUP_WAIT_MS, 'starting the adapter')
  } catch {
    await adapter.close()
    client.destroy()
    throw new RedisUnreachableError(`cluster mode: Redis at ${where} stopped answering while the bridge started`)
  }

  return {
    ready: () => client.isReady,
    confirmBroadcast: adapter.confirmBroadcast,
    claims: unavailableWithoutRedis(new RedisIdempotencyStore(client, `${prefix}idempotency:`), () => client.isReady),
    async close () {
      await adapter.close()
      if (client.isReady) await client.close()
      else client.destroy()
    }
  }
}

export async function createTransport ({ io, config, log }: TransportOptions) {
  const { redisUrl } = config
  const cluster = redisUrl === undefined ? undefined : await startCluster(io, { ...config, redisUrl }, log)
  const claims: IdempotencyStore = cluster?.claims ?? new MemoryIdempotencyStore({ maxEntries: config.idempotencyMaxEntries })
  const { adapter } = io.of('/')

  // Presence changes go to the channel's other Echo subscribers; they are news, not history.
  const presence = createPresence((channel, event, member, except) => {
    ;(io.to(internalRoom('echo', channel)).except(except).emit as Emit)(event, channel, member)
  })
  /** The presence channels each socket is a member of. */
  const presenceOf = new WeakMap<BridgeSocket, Set<string>>()
  io.on('connection', (socket) => {
    socket.on('disconnect', () => {
      for (const channel of presenceOf.get(socket) ?? []) presence.leave(socket, channel)
    })
  })

  return {
    /** `cluster` when REDIS_URL is set: events, de-duplication and counts span every node. */
    mode: cluster === undefined ? 'single-node' as const : 'cluster' as const,

    /** False while the cluster's Redis is unreachable: deliveries would not reach other nodes. */
    ready: (): boolean => cluster?.ready() ?? true,

    /** Claims uuids (and signatures) once per window, on every node of a cluster. */
    claims,

    /**
     * Delivers the events in order and resolves once they are handed on: to socket.io on a
     * single node, stored in Redis in a cluster (else it rejects with a 503 error).
     */
    async deliver (deliveries: readonly Delivery[]): Promise<void> {
      if (cluster === undefined) return emitAll(io, deliveries)
      if (!cluster.ready()) throw new RedisUnavailable('Redis is unreachable (cluster mode); nothing was published, retry later')
      try {
        await cluster.confirmBroadcast(() => emitAll(io, deliveries))
      } catch (error) {
        log.warn({ reason: String(error) }, 'delivery failed: Redis did not store the event')
        throw new RedisUnavailable('Redis did not store the event (cluster mode); retry later')
      }
    },

    /**
     * Emits an event to one socket that its client can recover from (it carries a position in
     * the event stream), resolving once a reconnecting client could resume after it. While
     * the cluster's Redis is away it is sent at once, unconfirmed.
     */
    async emitRecoverable (socket: BridgeSocket, event: string, ...args: unknown[]): Promise<void> {
      const emit = () => { (socket.emit as Emit)(event, ...args) }
      if (cluster === undefined || !cluster.ready()) return emit()
      try {
        await cluster.confirmBroadcast(emit)
      } catch (error) {
        log.debug({ socketId: socket.id, event, reason: String(error) }, 'event not stored in Redis')
      }
    },

    /** Subscribes the socket to `name`; it then gets the channel's events in the `kind`'s format. */
    join (socket: BridgeSocket, kind: SubscriptionKind, name: string): void {
      socket.join(internalRoom(kind, name))
    },

    leave (socket: BridgeSocket, kind: SubscriptionKind, name: string): void {
      socket.leave(internalRoom(kind, name))
    },

    isSubscribed (socket: BridgeSocket, kind: SubscriptionKind, name: string): boolean {
      return socket.rooms.has(internalRoom(kind, name))
    },

    /** How many channels the socket is subscribed to as `kind`. */
    subscriptionCount (socket: BridgeSocket, kind: SubscriptionKind): number {
      let count = 0
      for (const room of socket.rooms) if (clientName(room)?.kind === kind) count += 1
      return count
    },

    /** Sockets subscribed to `name` (either kind) and their distinct users, on every node. */
    async channelCount (name: string): Promise<ChannelCount> {
      const rooms = [internalRoom('room', name), internalRoom('echo', name)]
      if (cluster === undefined) {
        const ids = new Set(rooms.flatMap((room) => [...adapter.rooms.get(room) ?? []]))
        return countOf([...ids].flatMap((id) => io.of('/').sockets.get(id) ?? []))
      }
      if (!cluster.ready()) throw new RedisUnavailable('Redis is unreachable (cluster mode); retry later')
      try {
        const counting = io.in(rooms).timeout(NODES_ANSWER_WITHIN_MS).fetchSockets()
        return countOf(await within(counting, NODES_ANSWER_WITHIN_MS + COMMAND_TIMEOUT_MS, 'counting the channel'))
      } catch (error) {
        log.warn({ channel: name, reason: String(error) }, 'channel count: the cluster did not answer')
        throw new RedisUnavailable('Not every node answered in time (cluster mode); retry later')
      }
    },

    /** Channels with at least one subscriber whose name starts with `prefix`, on every node. */
    async channels (prefix = ''): Promise<ChannelListing[]> {
      if (cluster !== undefined && !cluster.ready()) throw new RedisUnavailable('Redis is unreachable (cluster mode); retry later')
      const sockets = cluster === undefined ? [...io.of('/').sockets.values()] : await io.fetchSockets()
      const byChannel = new Map<string, Array<{ data: { userId?: string } }>>()
      for (const socket of sockets) {
        for (const room of socket.rooms) {
          const name = clientName(room)?.name
          if (name === undefined || !name.startsWith(prefix)) continue
          const members = byChannel.get(name) ?? []
          if (!members.includes(socket)) members.push(socket)
          byChannel.set(name, members)
        }
      }
      return [...byChannel].map(([name, members]) => ({ name, ...countOf(members) }))
    },

    /** Presence channels: members are users, however many sockets each has there. */
    presence: {
      /**
       * Subscribes the socket to the presence channel as an Echo subscriber and makes its
       * user a member; the channel's other sockets get `presence:joining` when this is the
       * user's first socket there. Answers every member, the socket's own user included.
       */
      join (socket: BridgeSocket, channel: string, member: Member): Member[] {
        socket.join(internalRoom('echo', channel))
        let channels = presenceOf.get(socket)
        if (channels === undefined) {
          channels = new Set()
          presenceOf.set(socket, channels)
        }
        channels.add(channel)
        return presence.join(socket, channel, member)
      },
      /** Unsubscribes the socket; its user leaves (`presence:leaving`) with their last socket. */
      leave (socket: BridgeSocket, channel: string): void {
        socket.leave(internalRoom('echo', channel))
        presenceOf.get(socket)?.delete(channel)
        presence.leave(socket, channel)
      },
      /** The channel's members across the cluster. */
      async members (channel: string): Promise<Member[]> {
        return presence.members(channel)
      }
    },

    /** Subscriptions (socket, channel pairs) and channels with a subscriber, on this node. */
    localStats (): { subscriptions: number, channels: number } {
      let subscriptions = 0
      let channels = 0
      for (const [room, members] of adapter.rooms) {
        if (clientName(room) === undefined) continue
        channels += 1
        subscriptions += members.size
      }
      return { subscriptions, channels }
    },

    async close (): Promise<void> {
      await claims.close()
      await cluster?.close()
    }
  }
}

export type Transport = Awaited<ReturnType<typeof createTransport>>
