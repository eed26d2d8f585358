// What Laravel Echo's socket protocol needs from the rest of the bridge, and what it keeps per
// connection. Events reach Echo's subscribers through the transport as `(event, channel, data)`.
import type { Counter } from 'prom-client'
import type { ChannelKind } from '../../channels/names.ts'
import type { Log } from '../../ops/log.ts'
import type { BridgeSocket, EchoGrant, EchoSocketData } from '../../schemas/socket.ts'
import { createRateLimiter, type ConnectionRateLimit, type RateLimiter } from '../../sockets/rate-limiter.ts'
import type { Transport } from '../../transport/transport.ts'
import type { Authorization } from './authorization/laravel-authorizer.ts'
import type { ForwardedHeaders } from './requests.ts'

export type AuthorizationMode = 'laravel' | 'tokens' | 'open'

/** Who decides on private and presence channels (plugins/app/echo-authorization.ts). */
export interface EchoAuthorization {
  mode: AuthorizationMode
  /** Allowed (with the presence member) or refused with the status for `subscription_error`; never rejects. */
  authorize: (socket: BridgeSocket, channel: string, kind: Exclude<ChannelKind, 'public'>, headers: ForwardedHeaders) => Promise<Authorization>
}

export interface EchoMetrics {
  subscriptions: Counter<'kind'>
  refusals: Counter<'status'>
  whispersRelayed: Counter
  whispersDropped: Counter<'reason'>
}

export interface EchoProtocolContext {
  transport: Pick<Transport, 'join' | 'leave' | 'isSubscribed' | 'subscriptionCount' | 'emitRecoverable' | 'deliver' | 'presence'>
  authorization: EchoAuthorization
  /** BRIDGE_MAX_SUBSCRIBES_PER_SECOND, shared with the bridge's own calls on the same connection. */
  rateLimit: ConnectionRateLimit<BridgeSocket>
  maxRoomsPerSocket: number
  maxWhispersPerSecond: number
  whispers: boolean
  metrics: EchoMetrics
  log: Log
  stateOf: (socket: BridgeSocket) => ConnectionState
}

/** Kept per connection, never stored: rate limits and authorizations in flight. */
export interface ConnectionState {
  whispers: RateLimiter
  /** Channels whose authorization is being asked; the ticket tells a current answer from a stale one. */
  pending: Map<string, symbol>
  /** Presence channels whose member list this connection got (a restored session's new one has none). */
  listed?: Set<string>
}

export function connectionStates (maxWhispersPerSecond: number): (socket: BridgeSocket) => ConnectionState {
  const states = new WeakMap<BridgeSocket, ConnectionState>()
  return (socket) => {
    let state = states.get(socket)
    if (state === undefined) {
      state = { whispers: createRateLimiter(maxWhispersPerSecond), pending: new Map() }
      states.set(socket, state)
    }
    return state
  }
}

/** Kept in `socket.data`, so that a recovered session keeps it. */
export function echoData (socket: BridgeSocket): EchoSocketData {
  socket.data.echo ??= { grants: [] }
  return socket.data.echo
}

export function grantOf (socket: BridgeSocket, channel: string): EchoGrant | undefined {
  return socket.data.echo?.grants.find((grant) => grant.channel === channel)
}

export function forget (socket: BridgeSocket, channel: string): void {
  const echo = socket.data.echo
  if (echo !== undefined) echo.grants = echo.grants.filter((grant) => grant.channel !== channel)
}

export function safely (log: Log, socket: BridgeSocket, what: string, handler: () => Promise<void>): void {
  handler().catch((error: unknown) => {
    log.error({ socketId: socket.id, err: error }, `Echo ${what} failed`)
  })
}
