// What the Pusher channels protocol (pusher-js, Echo's `reverb` and `pusher` connectors) needs
// from the rest of the bridge, what it keeps per connection, and its error answers. Channels,
// presence and delivery are the transport's, shared with the socket.io protocols.
import type { Counter } from 'prom-client'
import type { Member } from '../../channels/member.ts'
import type { PusherApp } from '../../config/index.ts'
import type { Log } from '../../ops/log.ts'
import type { RateLimiter } from '../../sockets/rate-limiter.ts'
import { pusherFrame, type PusherConnection } from '../../transport/pusher-audience.ts'
import type { Transport } from '../../transport/transport.ts'

/** Close codes pusher-js acts on: 40xx stay closed, 41xx reconnect after a pause, 42xx at once. */
export const CLOSE = {
  unknownApp: 4001,
  terminated: 4009,
  overCapacity: 4100,
  reconnectNow: 4200,
  pongTimeout: 4201
} as const

export interface PusherMetrics {
  subscriptions: Counter<'kind'>
  refusals: Counter<'reason'>
  clientEventsRelayed: Counter
  clientEventsDropped: Counter<'reason'>
  errors: Counter<'code'>
}

export interface PusherProtocolContext {
  channels: Transport['pusher']
  deliver: Transport['deliver']
  app: PusherApp
  maxRoomsPerSocket: number
  whispers: boolean
  metrics: PusherMetrics
  log: Log
}

/** One Pusher-protocol connection: the transport's view of it, and what this protocol keeps. */
export interface PusherSocket extends PusherConnection {
  /** Subscribe/unsubscribe calls (BRIDGE_MAX_SUBSCRIBES_PER_SECOND), client events, frames of any kind. */
  subscribes: RateLimiter
  clientEvents: RateLimiter
  frames: RateLimiter
  /** Presence channel → the member it joined as. */
  members: Map<string, Member>
  /** When the client was last heard from, and when it was pinged for silence (0: not). */
  lastHeard: number
  pingedAt: number
  /** After `pusher:signin`: the user, and its `user_info` for presence channels joined without channel_data. */
  user?: { id: string, info?: unknown }
}

/** `pusher:error`: its data is an object, as Pusher sends it; a code of null means no particular one. */
export function sendError (context: PusherProtocolContext, socket: PusherSocket, code: number | null, message: string): void {
  context.metrics.errors.inc({ code: String(code) })
  context.channels.send(socket, JSON.stringify({ event: 'pusher:error', data: { code, message } }))
}

export function sendEvent (context: PusherProtocolContext, socket: PusherSocket, event: string, channel: string | undefined, data: unknown): void {
  context.channels.send(socket, pusherFrame(event, channel, JSON.stringify(data)))
}

/** A handler's failure is logged and answered, never thrown at the socket's listener. */
export function safely (context: PusherProtocolContext, socket: PusherSocket, what: string, handler: () => Promise<void> | void): void {
  const failed = (error: unknown) => {
    context.log.error({ socketId: socket.id, err: error }, `Pusher ${what} failed`)
    sendError(context, socket, null, `${what} failed`)
  }
  try {
    const result = handler()
    if (result instanceof Promise) result.catch(failed)
  } catch (error) {
    failed(error)
  }
}
