// The socket.io side: what clients may send (subscribe, unsubscribe), their acks, and the
// typed event maps shared by the server and TypeScript frontends.
import type { Server, Socket } from 'socket.io'
import { Type, type Static } from 'typebox'
import { Room } from './fields.ts'
import type { EventPayloads } from './events.ts'
import type { EchoClientEvent, EchoSubscribeRequest, EchoUnsubscribeRequest, PresenceMember } from './echo.ts'

export const SubscribeRequest = Type.Object({
  room: Room,
  token: Type.Optional(Type.String({ minLength: 1, maxLength: 4096, description: 'Per-room JWT granting this room' }))
}, { title: 'SubscribeRequest' })

export const UnsubscribeRequest = Type.Object({
  room: Room
}, { title: 'UnsubscribeRequest' })

export const SubscribedNotice = Type.Object({ room: Room }, { title: 'SubscribedNotice', additionalProperties: false })

export type SubscribeRequest = Static<typeof SubscribeRequest>
export type UnsubscribeRequest = Static<typeof UnsubscribeRequest>

export const SubscriptionAck = Type.Union([
  Type.Object({ ok: Type.Literal(true), room: Type.String() }),
  Type.Object({
    ok: Type.Literal(false),
    error: Type.Object({
      code: Type.Union([
        Type.Literal('INVALID_PAYLOAD'),
        Type.Literal('INVALID_ROOM'),
        Type.Literal('FORBIDDEN'),
        Type.Literal('TOO_MANY_ROOMS'),
        Type.Literal('RATE_LIMITED')
      ]),
      message: Type.String()
    })
  })
], { title: 'SubscriptionAck' })

export type SubscriptionAck = Static<typeof SubscriptionAck>
export type SubscribeErrorCode = Extract<SubscriptionAck, { ok: false }>['error']['code']

export type MessageBody = Record<string, unknown>

export type WithMessage<Payload, M extends object> = {
  [K in keyof Payload]: K extends 'message' ? M : Payload[K]
}

export type ReceivedPayloads<M extends object = MessageBody> = {
  [E in keyof EventPayloads]: WithMessage<EventPayloads[E], M>
}

/** Events the bridge emits to frontends; a frontend that knows its `message` shape passes it: `ServerToClientEvents<ChatMessage>`. */
export type ServerToClientEvents<M extends object = MessageBody> = {
  [E in keyof EventPayloads]: (data: ReceivedPayloads<M>[E]) => void
} & {
  /** Sent once per connection before the ack of its first subscribe: it makes the client recoverable (socket.io replays only to one that got an event). */
  subscribed: (data: Static<typeof SubscribedNotice>) => void
  /** Laravel Echo: the subscription to `channel` is made (Echo ignores it). */
  subscription_succeeded: (channel: string) => void
  /** Laravel Echo: a subscription to `channel` was refused, with an HTTP-like status (403, 504, …). */
  subscription_error: (channel: string, status: number) => void
  'presence:subscribed': (channel: string, members: Member[]) => void
  'presence:joining': (channel: string, member: Member) => void
  'presence:leaving': (channel: string, member: Member) => void
}

/** What a socket subscribed through Echo receives for every event of a channel, whatever its name: `(event, channel, data)`. */
export type EchoChannelEvent<Data = unknown> = (channel: string, data: Data) => void

/** What a room's socket receives for a Laravel broadcast to `private-R`: `(event, data)`, as for the typed events. */
export type RoomChannelEvent<Data = unknown> = (data: Data) => void

/** One client event of both protocols: the bridge's own, answered through its ack, or Echo's, which sends none. */
type RoomOrEchoCall<RoomRequest, EchoRequest> = (...args: [request: RoomRequest, ack: (answer: SubscriptionAck) => void] | [request: EchoRequest]) => void

/** Events frontends may emit: the bridge's own (with an ack) and Laravel Echo's, on the same connection. */
export interface ClientToServerEvents {
  subscribe: RoomOrEchoCall<SubscribeRequest, EchoSubscribeRequest>
  unsubscribe: RoomOrEchoCall<UnsubscribeRequest, EchoUnsubscribeRequest>
  'client event': (request: EchoClientEvent) => void
}

export type InterServerEvents = Record<string, never>

type Member = Static<typeof PresenceMember>

export interface SocketData {
  /** The connection token's `sub`, `rooms` and `user_info`; absent in open development mode. */
  userId?: string
  rooms?: readonly string[]
  userInfo?: unknown
  /** Echo channels this connection was authorized for; restored with a recovered session. */
  echo?: EchoSocketData
  presence?: Record<string, Member>
}

export interface EchoGrant {
  channel: string
  member?: Member
}

/** Plain JSON (sessions are stored, in Redis in a cluster): never a cookie, header or token. */
export interface EchoSocketData {
  grants: EchoGrant[]
  guestId?: string
}

export type BridgeServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>
export type BridgeSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>
