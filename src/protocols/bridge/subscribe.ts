// The bridge's `subscribe { room, token? }`: joins the room when the connection's token (or a
// per-room token) allows it, within the connection's limits; answers through the ack.
import { roomAllowed, type RoomGrant } from '../../auth/room-allowed.ts'
import type { BridgeSocket, SubscriptionAck } from '../../schemas/socket.ts'
import { ackOf, payloadOf, rateLimited, refuse, requestedRoom, type BridgeProtocolContext } from './context.ts'

export function roomSubscribe (context: BridgeProtocolContext) {
  const { transport, tokens, roomsOpen, rateLimit, maxRoomsPerSocket: maxRooms, log } = context
  const limited = rateLimited(context)
  const sentFirstEvent = new WeakSet<BridgeSocket>()

  /** Open development mode allows every room; otherwise the tokens decide (no tokens: no room). */
  function mayJoin (socket: BridgeSocket, room: string, token: string | undefined): boolean {
    if (tokens === null) return roomsOpen
    const { userId, rooms } = socket.data
    if (userId === undefined || rooms === undefined) return false
    let roomGrant: RoomGrant | undefined
    if (token !== undefined) {
      try {
        roomGrant = tokens.room(token)
      } catch (error) {
        log.debug({ socketId: socket.id, userId, room, reason: (error as Error).message }, 'per-room token refused')
      }
    }
    return roomAllowed(room, { userId, rooms }, roomGrant)
  }

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
    if (!rateLimit.take(socket)) return limited
    const parsed = requestedRoom(request)
    if ('refusal' in parsed) return parsed.refusal
    const { room, token } = parsed
    if (!mayJoin(socket, room, token)) {
      // Room R is Echo's private-R: without the bridge's JWT only Laravel's check guards it.
      if (tokens === null) return refuse('FORBIDDEN', 'rooms need the bridge\'s JWT and BRIDGE_JWT_SECRET is not set; Laravel (BRIDGE_AUTH_ENDPOINT) authorizes Echo\'s channels only: use Echo.private(room)')
      return refuse('FORBIDDEN', 'this connection may not join this room (see the token\'s rooms claim, or send a per-room token)')
    }
    if (!transport.isSubscribed(socket, 'room', room) && transport.subscriptionCount(socket, 'room') >= maxRooms) {
      return refuse('TOO_MANY_ROOMS', `a connection may be in at most ${maxRooms} rooms`)
    }
    transport.join(socket, 'room', room)
    return { ok: true, room }
  }

  /** A client may send anything, or no ack at all. */
  return async function onRoomSubscribe (socket: BridgeSocket, args: readonly unknown[]): Promise<void> {
    const answer = subscribe(socket, payloadOf(args))
    if (answer.ok) {
      await sendFirstEvent(socket, answer.room)
      // What is published once the client has its answer reaches it.
      await transport.reading('room', answer.room)
    } else {
      context.refused(answer.error.code)
      log.debug({ socketId: socket.id, userId: socket.data.userId, code: answer.error.code }, 'subscribe refused')
    }
    ackOf(args)(answer)
  }
}
