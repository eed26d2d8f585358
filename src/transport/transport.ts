// The transport: delivers events to a channel's subscribers on every node, subscribes sockets,
// keeps presence, counts who is in a channel and lets clients recover what they missed. The same
// on every deployment (the backplane carries what goes between nodes); this file composes the parts.
import type { Backplane, BusMessage, PublishClaims } from '../backplane/backplane.ts'
import { encodeEvent, type Delivery, type EncodedEvent } from '../channels/delivery.ts'
import type { Member } from '../channels/member.ts'
import { channelOf, type SubscriptionKind } from '../channels/names.ts'
import type { Config } from '../config/index.ts'
import type { Log } from '../ops/log.ts'
import type { BridgeServer, BridgeSocket, ServerToClientEvents } from '../schemas/socket.ts'
import { bridgeAdapter } from './adapter.ts'
import { createCounts, totalCount, totalListing, type ChannelCount, type ChannelListing } from './counts.ts'
import { createFanOut } from './fan-out.ts'
import { createHistory } from './history.ts'
import { createInterest } from './interest.ts'
import { createLiveSessions } from './live-sessions.ts'
import { createNodeHandler } from './node-handler.ts'
import { createPresence } from './presence.ts'
import { createPresenceGrace, PRESENCE_GRACE_MS } from './presence-grace.ts'
import { createOccupancy } from './occupancy.ts'
import { createWebhookCollector, type ClientEventNote } from '../webhooks/events.ts'
import { createPusherAudience, type PusherConnection } from './pusher-audience.ts'
import { createRecovery, DEAD_CONNECTION_MS, PENDING_RESTORE_MS } from './recovery.ts'
import { internalRoom, subscriptionOf } from './rooms.ts'
import { createSocketIoAudiences, type WriterInternals } from './socket-io-audiences.ts'

export type { ChannelCount, ChannelListing } from './counts.ts'

export interface TransportInternals extends WriterInternals {
  sessionId: (socket: BridgeSocket) => string | undefined
}

export interface TransportOptions {
  io: BridgeServer
  backplane: Backplane
  internals: TransportInternals
  config: Config
  log: Log
  onSlowSocket?: () => void
  /** A reconnecting client was told `recovered === false` because events it missed are gone. */
  onUnrecoverable?: () => void
}

/** Disconnect reasons after which socket.io keeps the session for recovery. */
const RECOVERABLE = new Set(['transport close', 'transport error', 'ping timeout', 'forced close', 'server shutting down', 'forced server close'])

const KEPT_WITHIN_MS = 2000

/** A dropped socket's channels stay occupied until just after its presence grace: members are removed first. */
const OCCUPIED_AFTER_DROP_MS = PRESENCE_GRACE_MS + 100

/** Kept events outlive the recovery window by the time a dead connection can go unnoticed. */
const KEEP_EVENTS_BEYOND_WINDOW_MS = DEAD_CONNECTION_MS + 30_000

export async function createTransport ({ io, backplane, internals, config, log, onSlowSocket, onUnrecoverable }: TransportOptions) {
  const nsp = io.of('/')
  const recoveryWindowMs = config.recoveryWindowSeconds * 1000

  function announce (message: BusMessage): void {
    backplane.send(message).catch((error: unknown) => {
      // Redis is away: every node re-sends its snapshot once it is back.
      log.debug({ type: message.type, reason: String(error) }, 'bus message not sent')
    })
  }

  const socketIo = createSocketIoAudiences({
    io,
    internals,
    maxBufferedBytes: config.maxBufferedBytes,
    onSlowSocket (conn, socket) {
      recovery.cutLoose(conn)
      onSlowSocket?.()
      log.info({ socketId: socket?.id, maxBufferedBytes: config.maxBufferedBytes }, 'socket disconnected: it does not read what it is sent')
    }
  })
  const pusher = createPusherAudience({
    maxBufferedBytes: config.maxBufferedBytes,
    onSlowSocket (conn) {
      onSlowSocket?.()
      log.info({ socketId: conn.id, maxBufferedBytes: config.maxBufferedBytes }, 'Pusher connection closed: it does not read what it is sent')
    }
  })
  const fanOut = createFanOut([...socketIo.audiences, pusher.audience])
  const shardOf = (channel: string) => backplane.shardOf(channel)
  // The channels this node keeps events for are those whose events it reads.
  const interest = createInterest((changes) => {
    for (const [channel, interested] of changes) {
      if (interested) backplane.watch(channel)
      else backplane.unwatch(channel)
    }
    announce({ type: 'interest', changes })
  }, (channel) => recovery.positionOf(channel))
  const history = createHistory({ interest, shardOf, maxBytes: config.recoveryMaxBytes, keepMs: recoveryWindowMs + KEEP_EVENTS_BEYOND_WINDOW_MS })
  const webhooks = createWebhookCollector(new Set(config.webhookUrl === undefined ? [] : config.webhookEvents), backplane.webhooks.append)
  // Occupancy is counted only for webhooks: without them no node announces it.
  const occupancy = createOccupancy((changes) => announce({ type: 'occupancy', changes }), webhooks)
  const occupy = webhooks.enabled ? (channel: string) => occupancy.add(channel) : () => {}
  const vacate = webhooks.enabled ? (channel: string) => occupancy.remove(channel) : () => {}
  const presence = createPresence(
    (changes) => announce({ type: 'presence', changes }),
    (channel, event, member, except, only) => fanOut.announcePresence({ channel, event, member, except, ...(only !== undefined && { only }) }),
    { onMember: webhooks.member }
  )
  const grace = createPresenceGrace(presence)
  const counts = createCounts(io, pusher)
  const live = createLiveSessions({ io, sessionId: internals.sessionId, copies: backplane.sessions.live, positionOf: (channel) => recovery.positionOf(channel), shardOf })
  const recovery = createRecovery({
    io,
    replay: socketIo.replay,
    sessions: backplane.sessions,
    history,
    shardOf,
    formatOffset: backplane.formatOffset,
    parseOffset: backplane.parseOffset,
    deadConnectionMs: DEAD_CONNECTION_MS,
    // Before the socket leaves its rooms: the channels stay interesting without a gap.
    onPersist (channels) {
      interest.hold(channels, recoveryWindowMs)
      // Occupied as long as its presence memberships last: a client back within it changes nothing.
      if (webhooks.enabled) occupancy.hold(channels, OCCUPIED_AFTER_DROP_MS)
    },
    joinedAt: live.joinedAt,
    rejoining: live.rejoining,
    live: live.find,
    busCaughtUp: () => backplane.caughtUp(),
    async watch (channels) {
      // Read while the restore is under way; once restored, its sockets keep them read.
      interest.hold(channels, PENDING_RESTORE_MS + KEPT_WITHIN_MS)
      await Promise.all(channels.map((channel) => backplane.reading(channel)))
    },
    readBack: (after, upTo) => backplane.readBack(after, upTo),
    ...(onUnrecoverable !== undefined && { onUnrecoverable })
  })

  io.adapter(bridgeAdapter(recovery))
  nsp.adapter.on('create-room', (room: string) => {
    const name = subscriptionOf(room)?.channel
    if (name === undefined) return
    interest.add(name)
    occupy(name)
  })
  nsp.adapter.on('delete-room', (room: string) => {
    const name = subscriptionOf(room)?.channel
    if (name === undefined) return
    interest.remove(name)
    vacate(name)
  })
  nsp.adapter.on('join-room', live.joinedRoom)
  nsp.adapter.on('leave-room', live.leftRoom)

  io.on('connection', (socket) => {
    if (recovery.complete(socket)) grace.restored(socket)
    socket.on('disconnect', onDisconnect)
  })

  /** Shared by every socket (called with it as `this`): nothing kept per socket. */
  function onDisconnect (this: BridgeSocket, reason: string): void {
    // Its client is back on a new connection that carries on from here (same id).
    if (recovery.takenOver(this)) return
    const mayComeBack = RECOVERABLE.has(reason)
    if (!mayComeBack) live.ended(this)
    grace.dropped(this, mayComeBack)
  }

  function dropSubscribed (): void {
    let dropped = 0
    for (const socket of nsp.sockets.values()) {
      if (![...socket.rooms].some((room) => subscriptionOf(room) !== undefined)) continue
      socket.conn.close()
      dropped += 1
    }
    if (dropped > 0) log.warn({ sockets: dropped }, 'connections closed: they may have missed events while this node fell behind; they reconnect told recovered === false')
  }

  await backplane.start(createNodeHandler({ recovery, history, interest, presence, occupancy, webhooks, fanOut, counts, live, formatOffset: backplane.formatOffset, dropSubscribed }))

  /** Resolves once the channel's events reach this node; after KEPT_WITHIN_MS regardless (Redis is away: a reconnect then starts over). */
  async function reading (channel: string): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<void>((resolve) => { timer = setTimeout(resolve, KEPT_WITHIN_MS) })
    try {
      await Promise.race([backplane.reading(channel), late])
    } finally {
      clearTimeout(timer)
    }
  }

  /** Whispers go to the webhook as client_event through the bus, so that one node sends each. */
  function reportClientEvents (events: readonly EncodedEvent[]): void {
    const notes = events.flatMap((event): ClientEventNote[] => event.ephemeral === true && event.event.startsWith('client-') && event.except !== undefined
      ? [{ channel: event.channel, event: event.event, data: event.payloadJson, socketId: event.except, ...(event.userId !== undefined && { userId: event.userId }) }]
      : [])
    if (notes.length > 0) announce({ type: 'client-events', notes })
  }

  return {
    /**
     * Delivers the events in order, all or nothing, once they are handed on (to this node's
     * sockets, or stored for every node; else a 503). One that cannot be encoded is a 400 and
     * nothing is claimed or delivered. With `claims`, only those whose claim is taken (answered).
     */
    async deliver (deliveries: readonly Delivery[], claims?: PublishClaims): Promise<boolean[]> {
      const events = deliveries.map(encodeEvent)
      if (events.length === 0) return []
      const handedOn = await backplane.publish(events, claims)
      if (webhooks.wantsClientEvents) reportClientEvents(events)
      return handedOn
    },

    /** Emits to one socket once its channels' events are kept, so the offset it carries is one its client can resume from. */
    async emitRecoverable<E extends keyof ServerToClientEvents> (socket: BridgeSocket, event: E, ...args: Parameters<ServerToClientEvents[E]>): Promise<void> {
      const channels = [...socket.rooms].flatMap((room) => subscriptionOf(room)?.channel ?? [])
      try {
        await Promise.all(channels.flatMap((channel) => [interest.whenKept(channel, KEPT_WITHIN_MS), reading(channel)]))
      } catch (error) {
        // Redis is away: the event goes anyway; a reconnect then starts over.
        log.debug({ socketId: socket.id, reason: String(error) }, 'channels not kept yet')
      }
      socket.emit(event, ...args)
    },

    /** Subscribes the socket to what it names `name` as `kind`; it gets the channel's events in that kind's format. */
    join (socket: BridgeSocket, kind: SubscriptionKind, name: string): void {
      socket.join(internalRoom(kind, channelOf(kind, name)))
    },

    /** Resolves once the events of what the socket joined as `name` reach this node (or Redis is away a while): then a subscription is answered. */
    reading: (kind: SubscriptionKind, name: string) => reading(channelOf(kind, name)),

    leave (socket: BridgeSocket, kind: SubscriptionKind, name: string): void {
      socket.leave(internalRoom(kind, channelOf(kind, name)))
    },

    isSubscribed (socket: BridgeSocket, kind: SubscriptionKind, name: string): boolean {
      return socket.rooms.has(internalRoom(kind, channelOf(kind, name)))
    },

    subscriptionCount (socket: BridgeSocket, kind: SubscriptionKind): number {
      let count = 0
      for (const room of socket.rooms) if (subscriptionOf(room)?.kind === kind) count += 1
      return count
    },

    /** Sockets of channel `name` (room R counts as `private-R`) and their distinct users, on every node. */
    async channelCount (name: string): Promise<ChannelCount> {
      return totalCount(await backplane.ask({ type: 'count', channel: name }))
    },

    async channels (prefix = ''): Promise<ChannelListing[]> {
      return totalListing(await backplane.ask({ type: 'channels', prefix }))
    },

    presence: {
      /** Makes the socket's user a member (others get `presence:joining` for a user's first socket); answers every member. */
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
      leave (socket: BridgeSocket, channel: string): void {
        if (socket.data.presence !== undefined) {
          const { [channel]: _left, ...others } = socket.data.presence
          socket.data.presence = others
        }
        // The member leaves before the socket: a channel's last member_removed precedes its channel_vacated.
        presence.leave(socket.id, channel)
        socket.leave(internalRoom('echo', channel))
      },
      members (channel: string): Member[] {
        return presence.members(channel)
      },
      userCounts: presence.userCounts
    },

    /** The Pusher protocol's connections: the same channels, presence and counts as socket.io's. */
    pusher: {
      send: pusher.send,
      add: (conn: PusherConnection) => { pusher.add(conn) },
      /** Leaves every channel, and presence at once (the protocol has no recovery to wait for). */
      remove (conn: PusherConnection): void {
        for (const channel of pusher.remove(conn)) {
          presence.leave(conn.id, channel)
          vacate(channel)
          backplane.unwatch(channel)
        }
      },
      /** Resolves once the channel's events reach this node: then the subscription is answered. */
      join (conn: PusherConnection, channel: string): Promise<void> {
        if (!pusher.isSubscribed(conn, channel)) {
          occupy(channel)
          backplane.watch(channel)
        }
        pusher.join(conn, channel)
        return reading(channel)
      },
      leave (conn: PusherConnection, channel: string): void {
        const subscribed = pusher.isSubscribed(conn, channel)
        pusher.leave(conn, channel)
        presence.leave(conn.id, channel)
        if (subscribed) {
          vacate(channel)
          backplane.unwatch(channel)
        }
      },
      isSubscribed: pusher.isSubscribed,
      subscriptionCount: pusher.subscriptionCount,
      connection: pusher.connection,
      connections: pusher.connections,
      get size () { return pusher.size },
      /** As `presence.join`: every member once this node has caught up, the connection's own user included. */
      async joinPresence (conn: PusherConnection, channel: string, member: Member): Promise<Member[]> {
        if (!pusher.isSubscribed(conn, channel)) {
          occupy(channel)
          backplane.watch(channel)
        }
        pusher.join(conn, channel)
        presence.join(conn.id, channel, member)
        try {
          await reading(channel)
          await backplane.caughtUp()
        } catch (error) {
          log.debug({ channel, reason: String(error) }, 'presence members answered without catching up')
        }
        return presence.list(conn.id, channel, member)
      }
    },

    localStats () {
      return { ...counts.localSubscriptions(), keptEvents: history.stats(), keptChannels: interest.channels }
    },

    async close (): Promise<void> {
      // Members of sockets that just dropped leave once their grace is over, while the backplane can still say so.
      await grace.settled()
      presence.close()
      recovery.close()
    }
  }
}

export type Transport = Awaited<ReturnType<typeof createTransport>>
