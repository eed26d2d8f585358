// One listener per client event name, shared by every connection (socket.io calls it with the
// socket as `this`): it hands each call to the protocol that owns its payload. A `subscribe` or
// `unsubscribe` naming `channel` is Laravel Echo's, any other the bridge's own (rooms), so both
// may be used on one connection. A protocol is a folder beside these; nothing else listens.
import type { BridgeSocket, ClientToServerEvents } from '../schemas/socket.ts'
import { isEchoRequest } from './echo/requests.ts'

export interface RoomProtocol {
  /** Gets every argument: the payload and the ack, either of which a client may leave out. */
  subscribe: (socket: BridgeSocket, args: readonly unknown[]) => unknown
  unsubscribe: (socket: BridgeSocket, args: readonly unknown[]) => unknown
}

export interface EchoProtocol {
  subscribe: (socket: BridgeSocket, payload: unknown) => void
  unsubscribe: (socket: BridgeSocket, payload: unknown) => void
  clientEvent: (socket: BridgeSocket, payload: unknown) => void
}

/** A listener takes raw arguments: a client may send anything, or nothing. */
type Listener = (this: BridgeSocket, ...args: unknown[]) => void

export function dispatchers ({ room, echo }: { room: RoomProtocol, echo: EchoProtocol }): Record<keyof ClientToServerEvents, Listener> {
  return {
    subscribe (...args) {
      if (isEchoRequest(args[0])) echo.subscribe(this, args[0])
      else room.subscribe(this, args)
    },
    unsubscribe (...args) {
      if (isEchoRequest(args[0])) echo.unsubscribe(this, args[0])
      else room.unsubscribe(this, args)
    },
    'client event' (...args) {
      echo.clientEvent(this, args[0])
    }
  }
}
