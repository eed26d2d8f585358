// What the subscribers of each kind receive for a channel event, as socket.io packet text:
// a room's `(event, data)` (ServerToClientEvents, RoomChannelEvent), Echo's `(event, channel,
// data)` (EchoChannelEvent). The arguments are JSON text already; their number is checked
// against those types here.
import type { EncodedEvent } from '../channels/delivery.ts'
import type { SubscriptionKind } from '../channels/names.ts'
import type { EventName } from '../schemas/events.ts'
import type { EchoChannelEvent, RoomChannelEvent, ServerToClientEvents } from '../schemas/socket.ts'

/** A listener's arguments, each as JSON text. */
type ArgumentsJson<Arguments extends unknown[]> = { [K in keyof Arguments]: string }

const argumentsOf: { [K in SubscriptionKind]: (event: EncodedEvent) => string[] } = {
  room: (event) => [event.payloadJson] satisfies ArgumentsJson<Parameters<ServerToClientEvents[EventName] | RoomChannelEvent>>,
  echo: (event) => [JSON.stringify(event.channel), event.payloadJson] satisfies ArgumentsJson<Parameters<EchoChannelEvent>>
}

/**
 * The socket.io packet of an event, in the format of the subscription kind, with its offset
 * last (socket.io clients keep the last string argument of an event as their offset). The
 * same text socket.io's encoder makes for `["event", ...arguments, "offset"]`, without parsing
 * and encoding the payload again.
 */
export function packetOf (kind: SubscriptionKind, event: EncodedEvent, offset: string): string {
  return `2[${JSON.stringify(event.event)},${argumentsOf[kind](event).join(',')},${JSON.stringify(offset)}]`
}
