// What the subscribers of each kind receive for a channel event, as socket.io packet text: a
// room's `(event, data)`, Echo's `(event, channel, data)`; the argument count is checked here
// against ServerToClientEvents, RoomChannelEvent and EchoChannelEvent.
import type { EncodedEvent } from '../channels/delivery.ts'
import type { SubscriptionKind } from '../channels/names.ts'
import type { EventName } from '../schemas/events.ts'
import type { EchoChannelEvent, RoomChannelEvent, ServerToClientEvents } from '../schemas/socket.ts'

type ArgumentsJson<Arguments extends unknown[]> = { [K in keyof Arguments]: string }

const argumentsOf: { [K in SubscriptionKind]: (event: EncodedEvent) => string[] } = {
  room: (event) => [event.payloadJson] satisfies ArgumentsJson<Parameters<ServerToClientEvents[EventName] | RoomChannelEvent>>,
  echo: (event) => [JSON.stringify(event.channel), event.payloadJson] satisfies ArgumentsJson<Parameters<EchoChannelEvent>>
}

/**
 * With its offset last (socket.io clients keep an event's last string argument as their offset):
 * the text socket.io's encoder makes, without encoding the payload again.
 */
export function packetOf (kind: SubscriptionKind, event: EncodedEvent, offset: string): string {
  return `2[${JSON.stringify(event.event)},${argumentsOf[kind](event).join(',')},${JSON.stringify(offset)}]`
}
