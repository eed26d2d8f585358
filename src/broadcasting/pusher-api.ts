// The Pusher HTTP API's semantics on top of the bridge: a trigger or batch made into
// deliveries, and the channel attributes (`info`) answered from the transport's counts.
import { PusherBadRequest } from '../http/errors.ts'
import type { BatchEvent, ChannelAttributes, TriggerRequest } from '../schemas/pusher.ts'
import type { BroadcastDelivery } from '../channels/delivery.ts'
import { poisonedKeyIn, poisonedKeyMessage } from '../http/json-body.ts'
import { deeperThan, MAX_JSON_DEPTH } from '../schemas/json-depth.ts'
import { decodeEventData, RESERVED_EVENT_NAMES, reservedEventName } from './event-data.ts'

export interface ChannelCounter {
  channelCount (name: string): Promise<{ subscribers: number }>
  presence: { members (channel: string): unknown[] | Promise<unknown[]> }
}

export interface WantedAttributes {
  subscriptionCount: boolean
  userCount: boolean
}

export function isPresenceChannel (name: string): boolean {
  return name.startsWith('presence-')
}

/** Pusher's `info`: comma-separated attribute names; unknown ones are ignored, as Pusher does. */
export function wantedAttributes (info: string | undefined): WantedAttributes {
  const names = new Set((info ?? '').split(',').map((name) => name.trim()))
  return { subscriptionCount: names.has('subscription_count'), userCount: names.has('user_count') }
}

export async function channelAttributes (transport: ChannelCounter, name: string, wanted: WantedAttributes): Promise<ChannelAttributes> {
  const attributes: ChannelAttributes = {}
  if (wanted.subscriptionCount) attributes.subscription_count = (await transport.channelCount(name)).subscribers
  if (wanted.userCount && isPresenceChannel(name)) attributes.user_count = (await transport.presence.members(name)).length
  return attributes
}

/** Pusher's `data` payload, or a 400 naming `field` when its JSON is too deep or could poison prototypes. */
function payloadOf (data: string, field: string): unknown {
  const payload = decodeEventData(data)
  if (deeperThan(payload, MAX_JSON_DEPTH)) throw new PusherBadRequest(`${field} nests deeper than ${MAX_JSON_DEPTH} levels`)
  const poisoned = poisonedKeyIn(data, payload)
  if (poisoned !== undefined) throw new PusherBadRequest(poisonedKeyMessage([field, ...poisoned]))
  return payload
}

function eventName (name: string, field: string): string {
  if (reservedEventName(name)) {
    throw new PusherBadRequest(`${field} ${JSON.stringify(name)} is reserved: socket.io and Pusher use it for their own events (${RESERVED_EVENT_NAMES})`)
  }
  return name
}

/** `channel` or `channels` (each once), never both, never none. */
function triggerChannels (body: Pick<TriggerRequest, 'channel' | 'channels'>): string[] {
  if (body.channel !== undefined && body.channels !== undefined) throw new PusherBadRequest('body must have channel or channels, not both')
  if (body.channel !== undefined) return [body.channel]
  if (body.channels !== undefined) return [...new Set(body.channels)]
  throw new PusherBadRequest('body/channels is required (or body/channel)')
}

export function triggerDeliveries (body: TriggerRequest): BroadcastDelivery[] {
  const event = eventName(body.name, 'body/name')
  const payload = payloadOf(body.data, 'body/data')
  return triggerChannels(body).map((channel) => ({
    channel,
    event,
    payload,
    ...(body.socket_id !== undefined && { except: body.socket_id })
  }))
}

export function batchDeliveries (batch: readonly BatchEvent[]): BroadcastDelivery[] {
  return batch.map((item, index) => ({
    channel: item.channel,
    event: eventName(item.name, `body/batch/${index}/name`),
    payload: payloadOf(item.data, `body/batch/${index}/data`),
    ...(item.socket_id !== undefined && { except: item.socket_id })
  }))
}
