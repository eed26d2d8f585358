// Echo's whispers (`client event { channel, event, data }`): relayed to the channel's other
// Echo subscribers on every node when the socket holds the channel's authorization, within the
// whisper rules and rate; never kept. Dropped ones are counted by reason.
import type { BridgeSocket } from '../../schemas/socket.ts'
import { grantOf, safely, type ConnectionState, type EchoProtocolContext } from './context.ts'
import { readClientEvent } from './requests.ts'
import { isWhisperEvent, whisperProblem, type WhisperDrop } from './whispers.ts'

export function echoClientEvent ({ transport, whispers, metrics, log, stateOf }: EchoProtocolContext) {
  function drop (socket: BridgeSocket, reason: WhisperDrop): void {
    metrics.whispersDropped.inc({ reason })
    log.debug({ socketId: socket.id, reason }, 'whisper dropped')
  }

  async function whisper (socket: BridgeSocket, state: ConnectionState, payload: unknown): Promise<void> {
    if (!whispers) return drop(socket, 'disabled')
    const request = readClientEvent(payload)
    if ('problem' in request) return drop(socket, request.problem)
    if (!state.whispers.take()) return drop(socket, 'rate_limited')
    const problem = whisperProblem(request)
    if (problem !== undefined) return drop(socket, problem)
    const { channel, event, data } = request
    if (!isWhisperEvent(event)) return drop(socket, 'not_client_event')
    if (grantOf(socket, channel) === undefined || !transport.isSubscribed(socket, 'echo', channel)) {
      return drop(socket, 'not_authorized')
    }
    try {
      const member = grantOf(socket, channel)?.member
      // Pusher-protocol receivers on a presence channel get the sender's user as `user_id`.
      await transport.deliver([{ channel, event, payload: data, except: socket.id, only: 'echo', ephemeral: true, ...(member !== undefined && { userId: String(member.user_id) }) }])
      metrics.whispersRelayed.inc()
    } catch {
      drop(socket, 'unavailable')
    }
  }

  return function onClientEvent (socket: BridgeSocket, payload: unknown): void {
    safely(log, socket, 'whisper', () => whisper(socket, stateOf(socket), payload))
  }
}
