// Echo's `subscribe { channel, auth }`: public channels at once, private and presence ones once
// authorized; `subscription_succeeded` when made, `subscription_error (channel, status)` when
// refused. A subscription the socket holds already is not authorized again.
import { channelKind, validChannelName, type ChannelKind } from '../../channels/names.ts'
import type { BridgeSocket, EchoGrant } from '../../schemas/socket.ts'
import { echoData, forget, grantOf, safely, type ConnectionState, type EchoProtocolContext } from './context.ts'
import { readSubscribe } from './requests.ts'

const TOO_MANY_REQUESTS = 429
const FORBIDDEN = 403

export function echoSubscribe (context: EchoProtocolContext) {
  const { transport, authorization, rateLimit, maxRoomsPerSocket, metrics, log, stateOf } = context

  function refuse (socket: BridgeSocket, channel: string, status: number, reason: string): void {
    metrics.refusals.inc({ status: String(status) })
    log.debug({ socketId: socket.id, userId: socket.data.userId, channel, status, reason }, 'Echo subscription refused')
    socket.emit('subscription_error', channel, status)
  }

  async function joinPresence (socket: BridgeSocket, state: ConnectionState, channel: string, grant: EchoGrant): Promise<void> {
    if (grant.member === undefined) return
    // Marked before the wait (a cluster catches up first): a subscribe meanwhile gets no list.
    ;(state.listed ??= new Set()).add(channel)
    const members = await transport.presence.join(socket, channel, grant.member)
    socket.emit('presence:subscribed', channel, members)
  }

  /** Echo has no use for it, but it makes a connection recoverable before its first channel event. */
  async function succeeded (socket: BridgeSocket, channel: string): Promise<void> {
    await transport.emitRecoverable(socket, 'subscription_succeeded', channel)
  }

  /**
   * Already subscribed and authorized (Echo subscribes again after every reconnect): nothing is
   * done twice, but a recovered session's new connection gets the member list it missed.
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
      log.debug({ socketId: socket.id }, 'Echo subscribe ignored: channel is not a string')
      return
    }
    const { channel, headers } = request
    if (!rateLimit.take(socket)) {
      return refuse(socket, channel, TOO_MANY_REQUESTS, 'more subscribe/unsubscribe calls than BRIDGE_MAX_SUBSCRIBES_PER_SECOND')
    }
    if (!validChannelName(channel)) {
      return refuse(socket, channel, FORBIDDEN, 'channel names are 1-164 characters of A-Z a-z 0-9 _ - = @ , . ; :')
    }
    const kind = channelKind(channel)
    if (await resubscribe(socket, state, channel, kind)) return await succeeded(socket, channel)
    // Asked again while its authorization is under way: that answer serves both.
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
    const decision = await authorization.authorize(socket, channel, kind, headers)
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

  return function onEchoSubscribe (socket: BridgeSocket, payload: unknown): void {
    safely(log, socket, 'subscribe', () => subscribe(socket, stateOf(socket), payload))
  }
}
