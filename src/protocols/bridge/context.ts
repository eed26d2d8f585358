// What the bridge's own socket protocol (rooms: `subscribe { room, token? }`, `unsubscribe
// { room }`, answered through the ack) needs from the rest of the bridge, and the answers its
// handlers share.
import { Compile } from 'typebox/compile'
import type { SocketTokenVerifier } from '../../auth/socket-tokens.ts'
import type { Log } from '../../ops/log.ts'
import { Room } from '../../schemas/fields.ts'
import type { BridgeSocket, SubscribeErrorCode, SubscriptionAck } from '../../schemas/socket.ts'
import type { ConnectionRateLimit } from '../../sockets/rate-limiter.ts'
import type { Transport } from '../../transport/transport.ts'

export interface BridgeProtocolContext {
  transport: Pick<Transport, 'join' | 'leave' | 'isSubscribed' | 'subscriptionCount' | 'emitRecoverable' | 'reading'>
  /** Verifies per-room tokens; null without BRIDGE_JWT_SECRET. */
  tokens: SocketTokenVerifier | null
  /** Without tokens, whether every room is allowed (open development mode) or none (Laravel authorizes Echo only). */
  roomsOpen: boolean
  /** BRIDGE_MAX_SUBSCRIBES_PER_SECOND, shared with Echo's calls on the same connection. */
  rateLimit: ConnectionRateLimit<BridgeSocket>
  maxRoomsPerSocket: number
  maxSubscribesPerSecond: number
  /** Counts each refusal by its code. */
  refused: (code: SubscribeErrorCode) => void
  log: Log
}

const validRoom = Compile(Room)

export function refuse (code: SubscribeErrorCode, message: string): SubscriptionAck {
  return { ok: false, error: { code, message } }
}

export function rateLimited (context: BridgeProtocolContext): SubscriptionAck {
  return refuse('RATE_LIMITED', `a connection may make at most ${context.maxSubscribesPerSecond} subscribe/unsubscribe calls a second; try again later`)
}

/** The room (and per-room token) named by a client payload, or the refusal to send back. */
export function requestedRoom (request: unknown): { room: string, token?: string } | { refusal: SubscriptionAck } {
  if (typeof request !== 'object' || request === null || Array.isArray(request)) {
    return { refusal: refuse('INVALID_PAYLOAD', 'expected an object like { room: "chat_123" }') }
  }
  const room = (request as { room?: unknown }).room
  if (typeof room !== 'string') {
    return { refusal: refuse('INVALID_PAYLOAD', 'room must be a string') }
  }
  if (!validRoom.Check(room)) {
    return { refusal: refuse('INVALID_ROOM', 'room must be 1-128 characters of A-Z a-z 0-9 _ - . : @') }
  }
  const token = (request as { token?: unknown }).token
  if (token !== undefined && typeof token !== 'string') {
    return { refusal: refuse('INVALID_PAYLOAD', 'token must be a string (a per-room JWT)') }
  }
  return { room, token }
}

/** socket.io hands over whatever the client sent: the payload, unless the only argument is the ack. */
export function payloadOf (args: readonly unknown[]): unknown {
  return args.length > 1 || typeof args[0] !== 'function' ? args[0] : undefined
}

/** Only a function can be an ack; without one the answer goes nowhere. */
export function ackOf (args: readonly unknown[]): (answer: SubscriptionAck) => void {
  const last = args.at(-1)
  return typeof last === 'function' ? last as (answer: SubscriptionAck) => void : () => {}
}
