// The Pusher protocol's one reader of client frames: parses each and hands it to the file of its
// event (`client-…` to client-event.ts); anything else is answered `pusher:error` and dropped.
import { readFrame, type ClientFrame } from './frames.ts'
import { safely, sendError, type PusherProtocolContext, type PusherSocket } from './context.ts'

export type FrameHandler = (socket: PusherSocket, frame: ClientFrame) => Promise<void> | void

export interface PusherHandlers {
  'pusher:ping': FrameHandler
  'pusher:pong': FrameHandler
  'pusher:subscribe': FrameHandler
  'pusher:unsubscribe': FrameHandler
  'pusher:signin'?: FrameHandler
  clientEvent: FrameHandler
}

export function pusherDispatcher (context: PusherProtocolContext, { clientEvent, ...named }: PusherHandlers) {
  // A Map: no event name reaches an Object's prototype.
  const byEvent = new Map<string, FrameHandler>(Object.entries(named).filter((entry): entry is [string, FrameHandler] => entry[1] !== undefined))

  return function onFrame (socket: PusherSocket, text: string): void {
    const frame = readFrame(text)
    if ('problem' in frame) return sendError(context, socket, null, frame.problem)
    const handler = byEvent.get(frame.event) ?? (frame.event.startsWith('client-') ? clientEvent : undefined)
    if (handler === undefined) return sendError(context, socket, null, `unknown event: ${frame.event}`)
    safely(context, socket, frame.event, () => handler(socket, frame))
  }
}
