// Echo's `unsubscribe { channel }`: leaves the channel (a presence channel's user leaves with
// their last socket there), and drops an authorization still under way.
import { channelKind, validChannelName } from '../../channels/names.ts'
import type { BridgeSocket } from '../../schemas/socket.ts'
import { forget, safely, type ConnectionState, type EchoProtocolContext } from './context.ts'
import { readUnsubscribe } from './requests.ts'

export function echoUnsubscribe ({ transport, rateLimit, log, stateOf }: EchoProtocolContext) {
  async function unsubscribe (socket: BridgeSocket, state: ConnectionState, payload: unknown): Promise<void> {
    const request = readUnsubscribe(payload)
    if (request === undefined || !validChannelName(request.channel)) return
    // Counted against the limit, but always carried out: a client that left must stop receiving.
    rateLimit.take(socket)
    const { channel } = request
    state.pending.delete(channel)
    state.listed?.delete(channel)
    forget(socket, channel)
    if (channelKind(channel) === 'presence') {
      await transport.presence.leave(socket, channel)
    } else {
      transport.leave(socket, 'echo', channel)
    }
  }

  return function onEchoUnsubscribe (socket: BridgeSocket, payload: unknown): void {
    safely(log, socket, 'unsubscribe', () => unsubscribe(socket, stateOf(socket), payload))
  }
}
