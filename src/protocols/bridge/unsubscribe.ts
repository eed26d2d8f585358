// The bridge's `unsubscribe { room }`: leaves the room (a room the socket is not in answers ok);
// answers through the ack.
import type { BridgeSocket, SubscriptionAck } from '../../schemas/socket.ts'
import { ackOf, payloadOf, rateLimited, requestedRoom, type BridgeProtocolContext } from './context.ts'

export function roomUnsubscribe (context: BridgeProtocolContext) {
  const { transport, rateLimit } = context
  const limited = rateLimited(context)

  function unsubscribe (socket: BridgeSocket, request: unknown): SubscriptionAck {
    if (!rateLimit.take(socket)) return limited
    const parsed = requestedRoom(request)
    if ('refusal' in parsed) return parsed.refusal
    transport.leave(socket, 'room', parsed.room)
    return { ok: true, room: parsed.room }
  }

  return function onRoomUnsubscribe (socket: BridgeSocket, args: readonly unknown[]): void {
    const answer = unsubscribe(socket, payloadOf(args))
    if (!answer.ok) context.refused(answer.error.code)
    ackOf(args)(answer)
  }
}
