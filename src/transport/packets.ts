// What the subscribers of each kind receive for a channel event, as socket.io packet text.
import type { EncodedEvent } from '../channels/delivery.ts'
import type { SubscriptionKind } from '../channels/names.ts'

/**
 * The socket.io packet of an event, in the format of the subscription kind, with its offset
 * last (socket.io clients keep the last string argument of an event as their offset). The
 * same text socket.io's encoder makes for `["event", payload, "offset"]`, without parsing
 * and encoding the payload again.
 */
export function packetOf (kind: SubscriptionKind, event: EncodedEvent, offset: string): string {
  const name = JSON.stringify(event.event)
  return kind === 'room'
    ? `2[${name},${event.payloadJson},${JSON.stringify(offset)}]`
    : `2[${name},${JSON.stringify(event.channel)},${event.payloadJson},${JSON.stringify(offset)}]`
}
