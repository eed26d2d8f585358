// The transport: delivers events to a channel's subscribers on every node, subscribes sockets,
// keeps presence members, counts who is in a channel, and lets clients recover what they
// missed. It is the same on every deployment: the backplane it is given (src/backplane/) carries
// what goes between nodes. This file puts the parts together and is what the plugins use.
import type { Backplane, BusMessage } from '../backplane/backplane.ts'
import { encodeEvent, type Delivery } from '../channels/delivery.ts'
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
import { createPresenceGrace } from './presence-grace.ts'
import { createRecovery, DEAD_CONNECTION_MS, RECOVERY_WINDOW_MS } from './recovery.ts'
import { internalRoom, subscriptionOf } from './rooms.ts'
import { createSocketIoAudiences, type WriterInternals } from './socket-io-audiences.ts'

export type { ChannelCount, ChannelListing } from './counts.ts'

/** The socket.io internals the transport reads, from plugins/patches/socket-internals.ts. */
export interface TransportInternals extends WriterInternals {
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

/** Disconnect reasons after which socket.io keeps the session for recovery. */
const RECOVERABLE = new Set(['transport close', 'transport error', 'ping timeout', 'forced close', 'server shutting down', 'forced server close'])

/** Longest wait for a channel's events to be kept across the cluster. */
const KEPT_WITHIN_MS = 2000

/** Kept events outlive the recovery window by the time a dead connection can go unnoticed. */
const KEEP_EVENTS_MS = RECOVERY_WINDOW_MS + DEAD_CONNECTION_MS + 30_000

export async function createTransport ({ io, backplane, internals, config, log, onSlowSocket }: TransportOptions) {
  const nsp = io.of('/')

  /** Messages this node sends besides events: the bus's order makes every node agree. */
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
  const fanOut = createFanOut(socketIo.audiences)
  const interest = createInterest((changes) => announce({ type: 'interest', changes }), () => recovery.position)
  const history = createHistory({ interest, maxBytes: config.recoveryMaxBytes, keepMs: KEEP_EVENTS_MS })
  const presence = createPresence(
    (changes) => announce({ type: 'presence', changes }),
    (channel, event, member, except, only) => fanOut.announcePresence({ channel, event, member, except, ...(only !== undefined && { only }) })
  )
  const grace = createPresenceGrace(presence)
  const counts = createCounts(io)
  const live = createLiveSessions({ io, sessionId: internals.sessionId, copies: backplane.sessions.live, position: () => recovery.position })
  const recovery = createRecovery({
    io,
    replay: socketIo.replay,
    sessions: backplane.sessions,
    history,
    formatOffset: backplane.formatOffset,
    parseOffset: backplane.parseOffset,
    deadConnectionMs: DEAD_CONNECTION_MS,
    // Before the socket leaves its rooms: the channels stay interesting without a gap.
    onPersist: (channels) => interest.hold(channels, RECOVERY_WINDOW_MS),
    joinedAt: live.joinedAt,
    rejoining: live.rejoining,
    live: live.find
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
  nsp.adapter.on('join-room', live.joinedRoom)
  nsp.adapter.on('leave-room', live.leftRoom)

  io.on('connection', (socket) => {
    if (recovery.complete(socket)) grace.restored(socket)
    socket.on('disconnect', onDisconnect)
  })

  /** Shared by every socket (socket.io calls it with the socket as `this`): nothing per socket. */
  function onDisconnect (this: BridgeSocket, reason: string): void {
    // Its client is back on a new connection that carries on from here (same id).
    if (recovery.takenOver(this)) return
    const mayComeBack = RECOVERABLE.has(reason)
    // A session that is not kept for recovery is not kept as a live one either.
    if (!mayComeBack) live.ended(this)
    grace.dropped(this, mayComeBack)
  }

  await backplane.start(createNodeHandler({ recovery, history, interest, presence, fanOut, counts, formatOffset: backplane.formatOffset }))

  return {
    /**
     * Delivers the events in order, all or nothing, and resolves once they are handed on: to
     * the sockets on a single node, stored for every node in a cluster (else it rejects with a
     * 503 error). Each event is encoded before anything else happens: one that cannot be is a
     * 400 error and nothing is delivered. Ephemeral events (whispers) are not kept anywhere.
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
    async emitRecoverable<E extends keyof ServerToClientEvents> (socket: BridgeSocket, event: E, ...args: Parameters<ServerToClientEvents[E]>): Promise<void> {
      const channels = [...socket.rooms].flatMap((room) => subscriptionOf(room)?.channel ?? [])
      try {
        await Promise.all(channels.map((channel) => interest.whenKept(channel, KEPT_WITHIN_MS)))
      } catch (error) {
        // Redis is away: the event goes anyway; a reconnect then starts over.
        log.debug({ socketId: socket.id, reason: String(error) }, 'channels not kept yet')
      }
      socket.emit(event, ...args)
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

    /** Sockets subscribed to channel `name` (room R counts as `private-R`) and their distinct users, on every node. */
    async channelCount (name: string): Promise<ChannelCount> {
      return totalCount(await backplane.ask({ type: 'count', channel: name }))
    },

    /** Channels with at least one subscriber whose name starts with `prefix`, on every node. */
    async channels (prefix = ''): Promise<ChannelListing[]> {
      return totalListing(await backplane.ask({ type: 'channels', prefix }))
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

    /** Subscriptions (socket, channel pairs) and channels with a subscriber, and the kept events, on this node. */
    localStats () {
      return { ...counts.localSubscriptions(), keptEvents: history.stats(), keptChannels: interest.channels }
    },

    async close (): Promise<void> {
      // Members of sockets that just dropped leave once their grace is over (they may be back
      // on another node by then), while the backplane is still there to say so.
      await grace.settled()
      presence.close()
      recovery.close()
    }
  }
}

export type Transport = Awaited<ReturnType<typeof createTransport>>
