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

/** Payload of the `subscribed` event sent before the ack of a connection's first subscribe. */
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

/** A message as frontends receive it: the JSON object Laravel sent. */
export type MessageBody = Record<string, unknown>

/** A payload with its free-form `message` typed as the frontend's own shape `M`. */
export type WithMessage<Payload, M extends object> = {
  [K in keyof Payload]: K extends 'message' ? M : Payload[K]
}

/** What frontends receive, by socket.io event name, with `message` typed as `M`. */
export type ReceivedPayloads<M extends object = MessageBody> = {
  [E in keyof EventPayloads]: WithMessage<EventPayloads[E], M>
}

/**
 * Events the bridge emits to frontends. The schema allows any JSON object as `message`;
 * a frontend that knows its shape passes it: `ServerToClientEvents<ChatMessage>`.
 */
export type ServerToClientEvents<M extends object = MessageBody> = {
  [E in keyof EventPayloads]: (data: ReceivedPayloads<M>[E]) => void
} & {
  /**
   * Sent once per connection, just before the ack of its first successful subscribe. Clients
   * may ignore it: socket.io replays missed events only to a client that has received at least
   * one event, and this one makes that true from the first subscription on.
   */
  subscribed: (data: Static<typeof SubscribedNotice>) => void
  /** Laravel Echo: the subscription to `channel` is made (the bridge's answer; Echo ignores it). */
  subscription_succeeded: (channel: string) => void
  /** Laravel Echo: a subscription to `channel` was refused, with an HTTP-like status (403, 504, …). */
  subscription_error: (channel: string, status: number) => void
  /** Laravel Echo: every member of the presence channel, to the socket that joined it. */
  'presence:subscribed': (channel: string, members: Member[]) => void
  /** Laravel Echo: a user's first socket joined the presence channel. */
  'presence:joining': (channel: string, member: Member) => void
  /** Laravel Echo: a user's last socket left the presence channel. */
  'presence:leaving': (channel: string, member: Member) => void
}

/**
 * What a socket subscribed through Laravel Echo receives for each event of a channel, whatever
 * its name: `(event, channel, data)`; Echo's listeners filter on the channel.
 */
export type EchoChannelEvent<Data = unknown> = (channel: string, data: Data) => void

/**
 * What a socket subscribed to a room receives for an event of the room's channel that is not one
 * of the HTTP API's (a Laravel broadcast to `private-R`): `(event, data)`, as the typed events are.
 */
export type RoomChannelEvent<Data = unknown> = (data: Data) => void

/**
 * One client event of both protocols: the bridge's own, answered through its ack, or Laravel
 * Echo's, which sends none (refusals come as `subscription_error`).
 */
type RoomOrEchoCall<RoomRequest, EchoRequest> = (...args: [request: RoomRequest, ack: (answer: SubscriptionAck) => void] | [request: EchoRequest]) => void

/**
 * Events frontends may emit to the bridge: the bridge's own `subscribe { room }` and
 * `unsubscribe { room }` (with an ack), and Laravel Echo's `subscribe { channel, auth }`,
 * `unsubscribe { channel }` and `client event` (whispers), on the same connection.
 */
export interface ClientToServerEvents {
  subscribe: RoomOrEchoCall<SubscribeRequest, EchoSubscribeRequest>
  unsubscribe: RoomOrEchoCall<UnsubscribeRequest, EchoUnsubscribeRequest>
  'client event': (request: EchoClientEvent) => void
}

export type InterServerEvents = Record<string, never>

/** A presence member: `{ user_id, user_info? }`. */
type Member = Static<typeof PresenceMember>

/** What the bridge keeps on each socket (`socket.data`). */
export interface SocketData {
  /** The user id (`sub`) of the connection token; absent in open development mode. */
  userId?: string
  /** The connection token's `rooms` (names and `prefix*` patterns); absent in open development mode. */
  rooms?: readonly string[]
  /** The connection token's `user_info` claim: its user's presence `user_info` (tokens mode). */
  userInfo?: unknown
  /** Laravel Echo channels this connection was authorized for; restored with a recovered session. */
  echo?: EchoSocketData
  /** The presence channels the socket is a member of, with its member (kept by the transport). */
  presence?: Record<string, Member>
}

/** A private or presence channel a connection was authorized for, with its presence member. */
export interface EchoGrant {
  channel: string
  member?: Member
}

/** Plain JSON (sessions are stored, in Redis in a cluster): never a cookie, header or token. */
export interface EchoSocketData {
  grants: EchoGrant[]
  /** The connection's presence user id in open development mode, where it has no user. */
  guestId?: string
}

/** The bridge's socket.io server and its sockets, typed with the maps above. */
export type BridgeServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>
export type BridgeSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>
