// `pusher:ping` → `pusher:pong`: the client checking the connection. Its own `pusher:pong`
// (the answer to the bridge's ping) needs nothing more: any frame counts as activity.
import type { ClientFrame } from './frames.ts'
import { sendEvent, type PusherProtocolContext, type PusherSocket } from './context.ts'

export function pusherPing (context: PusherProtocolContext) {
  return function onPing (socket: PusherSocket, _frame: ClientFrame): void {
    sendEvent(context, socket, 'pusher:pong', undefined, {})
  }
}

export function pusherPong () {
  return function onPong (_socket: PusherSocket, _frame: ClientFrame): void {}
}
