// What every publish path hands to the transport: one event for the subscribers of one
// channel, typed by where it comes from, and the same event encoded once, before anything is
// stored, sent or answered, so a payload that cannot be encoded is refused while nothing has
// happened yet.
import type { EventName, EventPayloads } from '../schemas/events.ts'
import { UnencodableEvent } from '../http/errors.ts'
import type { SubscriptionKind } from './names.ts'

interface Addressed {
  /** The channel (src/channels/names.ts: the bridge's room R is `private-R`). */
  channel: string
  /** A socket id that must not get the event (Laravel's `toOthers()`, a whisper's sender). */
  except?: string
}

/** An event of the HTTP API: its payload is exactly what the bridge's clients receive for it. */
export type ApiDelivery = { [E in EventName]: Addressed & { event: E, payload: EventPayloads[E] } }[EventName]

/** A delivery of the HTTP API's event `event`: its payload must be that event's (the correlation is checked here). */
export function apiDelivery<E extends EventName> (channel: string, event: E, payload: EventPayloads[E]): ApiDelivery {
  return { channel, event, payload } as ApiDelivery
}

/** An event of Laravel's broadcasters (the Pusher HTTP API, the redis broadcaster): any name but the reserved, any JSON. */
export interface BroadcastDelivery extends Addressed {
  event: string
  payload: unknown
}

/** A whisper (Echo's client event): for Echo's subscribers only, never kept. */
export interface WhisperDelivery extends Addressed {
  event: `client-${string}`
  payload: unknown
  except: string
  only: 'echo'
  ephemeral: true
}

export type Delivery = ApiDelivery | BroadcastDelivery | WhisperDelivery

/** A delivery with its payload as JSON text: what nodes exchange and the recovery store keeps. */
export interface EncodedEvent {
  channel: string
  event: string
  payloadJson: string
  except?: string
  /** Only subscribers of this kind get it (a whisper goes to Echo subscribers only). */
  only?: SubscriptionKind
  /** Not kept for missed-event recovery (a whisper: a typing indicator is stale a second later). */
  ephemeral?: boolean
}

export function encodeEvent (delivery: Delivery, index: number): EncodedEvent {
  const { channel, event, payload, except } = delivery
  const { only, ephemeral } = delivery as Partial<WhisperDelivery>
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
