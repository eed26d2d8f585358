// An event as the transport carries it: encoded once, before anything is stored, sent or
// answered, so a payload that cannot be encoded is refused while nothing has happened yet.
import { UnencodableEvent } from '../http/errors.ts'
import type { SubscriptionKind } from './channels.ts'

/** One event for the subscribers of one channel, of either subscription kind. */
export interface Delivery {
  /** The channel: Echo's name for it (section 3's room R is `private-R`, channels.ts). */
  channel: string
  /** The event name listeners see. */
  event: string
  /** The event's data: JSON. */
  payload: unknown
  /** A socket id that must not get the event (Laravel's `toOthers()`, a whisper's sender). */
  except?: string
  /** Only subscribers of this kind get it (a whisper goes to Echo subscribers only). */
  only?: SubscriptionKind
  /** Not kept for missed-event recovery (a whisper: a typing indicator is stale a second later). */
  ephemeral?: boolean
}

/** A delivery with its payload as JSON text: what nodes exchange and the recovery store keeps. */
export interface EncodedEvent {
  channel: string
  event: string
  payloadJson: string
  except?: string
  only?: SubscriptionKind
  ephemeral?: boolean
}

export function encodeEvent ({ channel, event, payload, except, only, ephemeral }: Delivery, index: number): EncodedEvent {
  let payloadJson: string | undefined
  try {
    payloadJson = JSON.stringify(payload)
  } catch (error) {
    throw new UnencodableEvent(`event ${index} cannot be encoded as JSON (${error instanceof Error ? error.message : String(error)}); nothing was published`)
  }
  if (payloadJson === undefined) throw new UnencodableEvent(`event ${index} has no JSON payload; nothing was published`)
  return {
    channel,
    event,
    payloadJson,
    ...(except !== undefined && { except }),
    ...(only !== undefined && { only }),
    ...(ephemeral === true && { ephemeral })
  }
}

/** About how many bytes an event holds in memory: what the recovery budget counts. */
export function sizeOf (event: EncodedEvent): number {
  return 64 + event.channel.length + event.event.length + event.payloadJson.length + (event.except?.length ?? 0)
}

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
