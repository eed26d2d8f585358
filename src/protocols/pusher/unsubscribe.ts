// `pusher:unsubscribe { channel }`: leaves the channel (a presence member leaves with it). Pusher
// answers nothing, whether or not the connection was subscribed.
import type { ClientFrame } from './frames.ts'
import { stringField } from './frames.ts'
import { sendError, type PusherProtocolContext, type PusherSocket } from './context.ts'

export function pusherUnsubscribe (context: PusherProtocolContext) {
  return function onUnsubscribe (socket: PusherSocket, frame: ClientFrame): void {
    const channel = stringField(frame.data, 'channel')
    if (channel === undefined) return sendError(context, socket, null, 'pusher:unsubscribe needs data.channel, a string')
    // Shares the allowance with subscribes: a subscribe/unsubscribe loop is one flood.
    if (!socket.subscribes.take()) return sendError(context, socket, null, 'more subscribe/unsubscribe calls than BRIDGE_MAX_SUBSCRIBES_PER_SECOND: dropped')
    context.channels.leave(socket, channel)
    socket.members.delete(channel)
  }
}
