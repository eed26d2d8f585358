// Client events (`client-…`, Echo's whispers) from a Pusher-protocol connection: relayed to the
// channel's other subscribers of every protocol and node, never back to the sender, under the
// same rules as Echo's whispers (src/protocols/echo/whispers.ts); never kept.
import { whisperProblem } from '../echo/whispers.ts'
import type { ClientFrame } from './frames.ts'
import { sendError, type PusherProtocolContext, type PusherSocket } from './context.ts'

const RATE_LIMITED = 4301

const explained: Record<string, string> = {
  not_client_event: 'client event names are `client-` and 1-192 visible ASCII characters',
  not_private: 'client events go on private and presence channels only',
  too_deep: 'client event data nests deeper than 32 levels',
  too_large: 'client event data is larger than 10 KiB'
}

export function pusherClientEvent (context: PusherProtocolContext) {
  const { channels, deliver, whispers, metrics } = context

  function drop (socket: PusherSocket, reason: string, code: number | null, message: string): void {
    metrics.clientEventsDropped.inc({ reason })
    sendError(context, socket, code, message)
  }

  async function relay (socket: PusherSocket, channel: string, event: `client-${string}`, data: unknown): Promise<void> {
    try {
      // On presence channels the receivers learn who sent it, as Pusher does.
      const member = socket.members.get(channel)
      await deliver([{ channel, event, payload: data, except: socket.id, only: 'echo', ephemeral: true, ...(member !== undefined && { userId: String(member.user_id) }) }])
      metrics.clientEventsRelayed.inc()
    } catch {
      drop(socket, 'unavailable', null, 'the client event could not be relayed now')
    }
  }

  return function onClientEvent (socket: PusherSocket, frame: ClientFrame): Promise<void> | void {
    if (!whispers) return drop(socket, 'disabled', null, 'client events are turned off on this server')
    const { channel, event } = frame
    const data = frame.data ?? null
    if (channel === undefined) return drop(socket, 'invalid', null, 'a client event needs a `channel`')
    if (!socket.clientEvents.take()) return drop(socket, 'rate_limited', RATE_LIMITED, 'more client events than BRIDGE_MAX_WHISPERS_PER_SECOND: dropped')
    const problem = whisperProblem({ channel, event, data })
    if (problem !== undefined) return drop(socket, problem, null, explained[problem] ?? problem)
    if (!channels.isSubscribed(socket, channel)) return drop(socket, 'not_authorized', null, `not subscribed to ${channel}`)
    return relay(socket, channel, event as `client-${string}`, data)
  }
}
