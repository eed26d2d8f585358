// What every publish path hands to the transport: an event for one channel's subscribers,
// typed by where it comes from, then encoded once, before anything is stored or sent, so a
// payload that cannot be encoded is refused while nothing has happened yet.
import type { EventName, EventPayloads } from '../schemas/events.ts'
import { UnencodableEvent } from '../http/errors.ts'
import type { SubscriptionKind } from './names.ts'

interface Addressed {
  channel: string
  /** A socket id that must not get the event (Laravel's `toOthers()`, a whisper's sender). */
  except?: string
}

export type ApiDelivery = { [E in EventName]: Addressed & { event: E, payload: EventPayloads[E] } }[EventName]

/** The event's payload must be that event's: the correlation is checked here. */
export function apiDelivery<E extends EventName> (channel: string, event: E, payload: EventPayloads[E]): ApiDelivery {
  return { channel, event, payload } as ApiDelivery
}

export interface BroadcastDelivery extends Addressed {
  event: string
  payload: unknown
}

export interface WhisperDelivery extends Addressed {
  event: `client-${string}`
  payload: unknown
  except: string
  only: 'echo'
  ephemeral: true
  /** On presence channels, the sender's user: Pusher-protocol clients get it as `user_id`. */
  userId?: string
}

/** Closes a signed-in user's Pusher-protocol connections, on every node; never kept. */
export interface TerminateDelivery extends Addressed {
  event: 'pusher_internal:terminate'
  payload: Record<string, never>
  only: 'echo'
  ephemeral: true
}

export type Delivery = ApiDelivery | BroadcastDelivery | WhisperDelivery | TerminateDelivery

/** What nodes exchange and the recovery store keeps. */
export interface EncodedEvent {
  channel: string
  event: string
  payloadJson: string
  except?: string
  only?: SubscriptionKind
  /** Not kept for recovery (a typing indicator is stale a second later). */
  ephemeral?: boolean
  /** A presence channel's client event: its sender's user (ephemeral events only). */
  userId?: string
}

export function encodeEvent (delivery: Delivery, index: number): EncodedEvent {
  const { channel, event, payload, except } = delivery
  const { only, ephemeral, userId } = delivery as Partial<WhisperDelivery>
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
    ...(ephemeral === true && { ephemeral }),
    ...(userId !== undefined && { userId })
  }
}

export function sizeOf (event: EncodedEvent): number {
  return 64 + event.channel.length + event.event.length + event.payloadJson.length + (event.except?.length ?? 0)
}
