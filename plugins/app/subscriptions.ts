// The socket.io side of the bridge: `subscribe` and `unsubscribe`, answered through their ack.
import fp from 'fastify-plugin'
import { Compile } from 'typebox/compile'
import { roomAllowed, type RoomGrant } from '../../src/auth/room-allowed.ts'
import { isEchoRequest } from '../../src/echo/requests.ts'
import { createConnectionRateLimit, type ConnectionRateLimit } from '../../src/sockets/rate-limiter.ts'
import { Room } from '../../src/schemas/fields.ts'
import type { BridgeSocket, SubscribeErrorCode, SubscriptionAck } from '../../src/schemas/socket.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * BRIDGE_MAX_SUBSCRIBES_PER_SECOND: one allowance per connection for the subscribe and
     * unsubscribe calls of both protocols (the bridge's here, Laravel Echo's in plugins/app/echo.ts).
     */
    subscribeRateLimit: ConnectionRateLimit<BridgeSocket>
  }
}

const validRoom = Compile(Room)

function refuse (code: SubscribeErrorCode, message: string): SubscriptionAck {
  return { ok: false, error: { code, message } }
}

/** The room (and per-room token) named by a client payload, or the refusal to send back. */
function requestedRoom (request: unknown): { room: string, token?: string } | { refusal: SubscriptionAck } {
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

/** socket.io hands over whatever the client sent; only a function can be an ack. */
function ackOf (args: unknown[]): (answer: SubscriptionAck) => void {
  const last = args.at(-1)
  return typeof last === 'function' ? last as (answer: SubscriptionAck) => void : () => {}
}

export default fp(async function subscriptions (fastify) {
  const maxRooms = fastify.config.maxRoomsPerSocket
  const { socketTokens: tokens, transport } = fastify
  const rateLimit = createConnectionRateLimit<BridgeSocket>(fastify.config.maxSubscribesPerSecond)
  fastify.decorate('subscribeRateLimit', rateLimit)
  const rateLimited = refuse('RATE_LIMITED', `a connection may make at most ${fastify.config.maxSubscribesPerSecond} subscribe/unsubscribe calls a second; try again later`)

  /** Open development mode allows every room; otherwise the tokens decide. */
  function mayJoin (socket: BridgeSocket, room: string, token: string | undefined): boolean {
    if (tokens === null) return true
    const { userId, rooms } = socket.data
    if (userId === undefined || rooms === undefined) return false
    let roomGrant: RoomGrant | undefined
    if (token !== undefined) {
      try {
        roomGrant = tokens.room(token)
      } catch (error) {
        fastify.log.debug({ socketId: socket.id, userId, room, reason: (error as Error).message }, 'per-room token refused')
      }
    }
    return roomAllowed(room, { userId, rooms }, roomGrant)
  }

  const sentFirstEvent = new WeakSet<BridgeSocket>()

  /**
   * socket.io's connection state recovery only works for a client that has received an event
   * (the event carries its position in the stream): send one on the first subscription, before
   * its ack, so a connection dropped before any message still gets its rooms and missed events.
   */
  async function sendFirstEvent (socket: BridgeSocket, room: string): Promise<void> {
    if (socket.recovered || sentFirstEvent.has(socket)) return
    sentFirstEvent.add(socket)
    await transport.emitRecoverable(socket, 'subscribed', { room })
  }

  function subscribe (socket: BridgeSocket, request: unknown): SubscriptionAck {
    if (!rateLimit.take(socket)) return rateLimited
    const parsed = requestedRoom(request)
    if ('refusal' in parsed) return parsed.refusal
    const { room, token } = parsed
    if (!mayJoin(socket, room, token)) {
      return refuse('FORBIDDEN', 'this connection may not join this room (see the token\'s rooms claim, or send a per-room token)')
    }
    if (!transport.isSubscribed(socket, 'room', room) && transport.subscriptionCount(socket, 'room') >= maxRooms) {
      return refuse('TOO_MANY_ROOMS', `a connection may be in at most ${maxRooms} rooms`)
    }
    transport.join(socket, 'room', room)
    return { ok: true, room }
  }

  function unsubscribe (socket: BridgeSocket, request: unknown): SubscriptionAck {
    if (!rateLimit.take(socket)) return rateLimited
    const parsed = requestedRoom(request)
    if ('refusal' in parsed) return parsed.refusal
    transport.leave(socket, 'room', parsed.room)
    return { ok: true, room: parsed.room }
  }

  // Listeners take raw arguments: a client may send anything, or no ack at all. They are shared
  // by every connection (socket.io calls them with the socket as `this`): nothing per socket.
  async function onSubscribe (this: BridgeSocket, ...args: unknown[]): Promise<void> {
    if (isEchoRequest(args[0])) return // Laravel Echo's, answered by plugins/app/echo.ts
    const answer = subscribe(this, args.length > 1 || typeof args[0] !== 'function' ? args[0] : undefined)
    if (answer.ok) {
      await sendFirstEvent(this, answer.room)
    } else {
      fastify.metrics.subscribeRefusals.inc({ code: answer.error.code })
      fastify.log.debug({ socketId: this.id, userId: this.data.userId, code: answer.error.code }, 'subscribe refused')
    }
    ackOf(args)(answer)
  }
  function onUnsubscribe (this: BridgeSocket, ...args: unknown[]): void {
    if (isEchoRequest(args[0])) return
    const answer = unsubscribe(this, args.length > 1 || typeof args[0] !== 'function' ? args[0] : undefined)
    if (!answer.ok) fastify.metrics.subscribeRefusals.inc({ code: answer.error.code })
    ackOf(args)(answer)
  }

  fastify.io.on('connection', (socket: BridgeSocket) => {
    const raw = socket as unknown as { on: (event: string, listener: (this: BridgeSocket, ...args: unknown[]) => unknown) => void }
    raw.on('subscribe', onSubscribe)
    raw.on('unsubscribe', onUnsubscribe)
  })
}, {
  name: 'subscriptions',
  dependencies: ['socket-io', 'socket-auth', 'transport', 'metrics']
})
