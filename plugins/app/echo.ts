// Laravel Echo's socket.io protocol on the bridge's server and namespace: `subscribe { channel,
// auth }`, `unsubscribe { channel }` and whispers (`client event`), presence channels, and
// `subscription_error (channel, status)` on refusal. Events reach Echo subscribers through the
// transport as `(event, channel, data)`.
import fp from 'fastify-plugin'
import { Counter } from 'prom-client'
import { channelKind, validChannelName, type ChannelKind } from '../../src/channels/names.ts'
import { createRateLimiter, type RateLimiter } from '../../src/sockets/rate-limiter.ts'
import { isEchoRequest, readClientEvent, readSubscribe, readUnsubscribe } from '../../src/echo/requests.ts'
import { whisperProblem, type WhisperDrop } from '../../src/echo/whispers.ts'
import type { BridgeSocket, EchoGrant, EchoSocketData } from '../../src/schemas/socket.ts'

/** Status of a subscription refused for coming too fast (the client may try again later). */
const TOO_MANY_REQUESTS = 429
/** Status of the bridge's own refusals (bad name, too many channels, tokens mode). */
const FORBIDDEN = 403

/** What the bridge keeps per connection and never stores: rate limits and authorizations in flight. */
interface ConnectionState {
  whispers: RateLimiter
  /** Channels whose authorization is being asked; the ticket tells a current answer from a stale one. */
  pending: Map<string, symbol>
  /** Presence channels whose member list this connection got (a restored session's new one has none). */
  listed?: Set<string>
}

function echoData (socket: BridgeSocket): EchoSocketData {
  socket.data.echo ??= { grants: [] }
  return socket.data.echo
}

function grantOf (socket: BridgeSocket, channel: string): EchoGrant | undefined {
  return socket.data.echo?.grants.find((grant) => grant.channel === channel)
}

function forget (socket: BridgeSocket, channel: string): void {
  const echo = socket.data.echo
  if (echo !== undefined) echo.grants = echo.grants.filter((grant) => grant.channel !== channel)
}

export default fp(async function echo (fastify) {
  const { transport, echoAuthorization, subscribeRateLimit } = fastify
  const { maxRoomsPerSocket, maxWhispersPerSecond, whispers: whispersOn } = fastify.config
  const registers = [fastify.metrics.registry]
  const metrics = {
    subscriptions: new Counter({
      name: 'bridge_echo_subscriptions_total',
      help: 'Laravel Echo subscriptions made, by channel kind',
      labelNames: ['kind'] as const,
      registers
    }),
    refusals: new Counter({
      name: 'bridge_echo_subscription_refusals_total',
      help: 'Laravel Echo subscriptions refused (subscription_error), by status',
      labelNames: ['status'] as const,
      registers
    }),
    whispersRelayed: new Counter({
      name: 'bridge_whispers_relayed_total',
      help: 'Whispers (Echo client events) relayed to a channel\'s other sockets',
      registers
    }),
    whispersDropped: new Counter({
      name: 'bridge_whispers_dropped_total',
      help: 'Whispers (Echo client events) dropped, by reason',
      labelNames: ['reason'] as const,
      registers
    })
  }

  function refuse (socket: BridgeSocket, channel: string, status: number, reason: string): void {
    metrics.refusals.inc({ status: String(status) })
    fastify.log.debug({ socketId: socket.id, userId: socket.data.userId, channel, status, reason }, 'Echo subscription refused')
    socket.emit('subscription_error', channel, status)
  }

  /** Makes the socket a member of the presence channel and tells it who is there. */
  async function joinPresence (socket: BridgeSocket, state: ConnectionState, channel: string, grant: EchoGrant): Promise<void> {
    if (grant.member === undefined) return
    // Marked before the wait (cluster mode catches up first): a subscribe meanwhile gets no list.
    ;(state.listed ??= new Set()).add(channel)
    const members = await transport.presence.join(socket, channel, grant.member)
    socket.emit('presence:subscribed', channel, members)
  }

  /**
   * Tells the socket its subscription is made. Echo has no use for it, but a frontend or a test
   * can wait for it, and it makes a connection recoverable before its first channel event
   * (socket.io recovers only a client that has received an event).
   */
  async function succeeded (socket: BridgeSocket, channel: string): Promise<void> {
    await transport.emitRecoverable(socket, 'subscription_succeeded', channel)
  }

  /**
   * Already subscribed and authorized (Echo subscribes again after every reconnect, and a
   * recovered session kept its channels): nothing is authorized or joined twice. A presence
   * channel's members go once per connection: a recovered session's new connection gets them
   * (it missed the joinings and leavings meanwhile), a repeated subscribe gets nothing more.
   */
  async function resubscribe (socket: BridgeSocket, state: ConnectionState, channel: string, kind: ChannelKind): Promise<boolean> {
    if (!transport.isSubscribed(socket, 'echo', channel)) return false
    if (kind === 'public') return true
    const grant = grantOf(socket, channel)
    if (grant === undefined) return false
    if (kind === 'presence' && state.listed?.has(channel) !== true) await joinPresence(socket, state, channel, grant)
    return true
  }

  async function subscribe (socket: BridgeSocket, state: ConnectionState, payload: unknown): Promise<void> {
    const request = readSubscribe(payload)
    if (request === undefined) {
      fastify.log.debug({ socketId: socket.id }, 'Echo subscribe ignored: channel is not a string')
      return
    }
    const { channel, headers } = request
    if (!subscribeRateLimit.take(socket)) {
      return refuse(socket, channel, TOO_MANY_REQUESTS, 'more subscribe/unsubscribe calls than BRIDGE_MAX_SUBSCRIBES_PER_SECOND')
    }
    if (!validChannelName(channel)) {
      return refuse(socket, channel, FORBIDDEN, 'channel names are 1-164 characters of A-Z a-z 0-9 _ - = @ , . ; :')
    }
    const kind = channelKind(channel)
    if (await resubscribe(socket, state, channel, kind)) return await succeeded(socket, channel)
    // The same channel asked for again while its authorization is under way: that answer serves both.
    if (state.pending.has(channel)) return
    if (transport.subscriptionCount(socket, 'echo') + state.pending.size >= maxRoomsPerSocket) {
      return refuse(socket, channel, FORBIDDEN, `a connection may be in at most ${maxRoomsPerSocket} Echo channels (BRIDGE_MAX_ROOMS_PER_SOCKET)`)
    }
    if (kind === 'public') {
      transport.join(socket, 'echo', channel)
      metrics.subscriptions.inc({ kind })
      return await succeeded(socket, channel)
    }

    const ticket = Symbol(channel)
    state.pending.set(channel, ticket)
    const decision = await echoAuthorization.authorize(socket, channel, kind, headers)
    // Unsubscribed, asked again after an unsubscribe, or gone while Laravel was thinking.
    if (state.pending.get(channel) !== ticket || !socket.connected) return
    state.pending.delete(channel)
    if (!decision.allowed) return refuse(socket, channel, decision.status, decision.reason)

    const grant: EchoGrant = decision.member === undefined ? { channel } : { channel, member: decision.member }
    forget(socket, channel)
    echoData(socket).grants.push(grant)
    metrics.subscriptions.inc({ kind })
    if (kind === 'presence') {
      await joinPresence(socket, state, channel, grant)
    } else {
      transport.join(socket, 'echo', channel)
    }
    await succeeded(socket, channel)
  }

  async function unsubscribe (socket: BridgeSocket, state: ConnectionState, payload: unknown): Promise<void> {
    const request = readUnsubscribe(payload)
    if (request === undefined || !validChannelName(request.channel)) return
    // Counted against the limit, but always carried out: a client that left must stop receiving.
    subscribeRateLimit.take(socket)
    const { channel } = request
    state.pending.delete(channel)
    state.listed?.delete(channel)
    forget(socket, channel)
    if (channelKind(channel) === 'presence') {
      await transport.presence.leave(socket, channel)
    } else {
      transport.leave(socket, 'echo', channel)
    }
  }

  function dropWhisper (socket: BridgeSocket, reason: WhisperDrop): void {
    metrics.whispersDropped.inc({ reason })
    fastify.log.debug({ socketId: socket.id, reason }, 'whisper dropped')
  }

  async function whisper (socket: BridgeSocket, state: ConnectionState, payload: unknown): Promise<void> {
    if (!whispersOn) return dropWhisper(socket, 'disabled')
    const request = readClientEvent(payload)
    if ('problem' in request) return dropWhisper(socket, request.problem)
    if (!state.whispers.take()) return dropWhisper(socket, 'rate_limited')
    const problem = whisperProblem(request)
    if (problem !== undefined) return dropWhisper(socket, problem)
    const { channel, event, data } = request
    if (grantOf(socket, channel) === undefined || !transport.isSubscribed(socket, 'echo', channel)) {
      return dropWhisper(socket, 'not_authorized')
    }
    try {
      await transport.deliver([{ channel, event: event as `client-${string}`, payload: data, except: socket.id, only: 'echo', ephemeral: true }])
      metrics.whispersRelayed.inc()
    } catch {
      dropWhisper(socket, 'unavailable')
    }
  }

  /** Runs a handler for a client message; whatever happens, nothing escapes to socket.io. */
  function safely (socket: BridgeSocket, what: string, handler: () => Promise<void>): void {
    handler().catch((error: unknown) => {
      fastify.log.error({ socketId: socket.id, err: error }, `Echo ${what} failed`)
    })
  }

  // Per connection the bridge keeps nothing until the client speaks Echo: the state is made on
  // first use, and the listeners are shared (socket.io calls them with the socket as `this`).
  const states = new WeakMap<BridgeSocket, ConnectionState>()
  function stateOf (socket: BridgeSocket): ConnectionState {
    let state = states.get(socket)
    if (state === undefined) {
      state = { whispers: createRateLimiter(maxWhispersPerSecond), pending: new Map() }
      states.set(socket, state)
    }
    return state
  }
  // Listeners take raw arguments: a client may send anything. The bridge's own `subscribe`
  // (plugins/app/subscriptions.ts) answers the payloads that are not Echo's. An authorization still
  // under way when the socket goes finds it disconnected and joins nothing.
  const listeners: Record<string, (this: BridgeSocket, payload: unknown) => void> = {
    subscribe (payload) {
      if (isEchoRequest(payload)) safely(this, 'subscribe', () => subscribe(this, stateOf(this), payload))
    },
    unsubscribe (payload) {
      if (isEchoRequest(payload)) safely(this, 'unsubscribe', () => unsubscribe(this, stateOf(this), payload))
    },
    'client event' (payload) {
      safely(this, 'whisper', () => whisper(this, stateOf(this), payload))
    }
  }

  fastify.io.on('connection', (socket: BridgeSocket) => {
    const raw = socket as unknown as { on: (event: string, listener: (this: BridgeSocket, payload: unknown) => void) => void }
    for (const [event, listener] of Object.entries(listeners)) raw.on(event, listener)
  })
}, {
  name: 'echo',
  dependencies: ['socket-io', 'echo-authorization', 'transport', 'metrics', 'subscriptions']
})
