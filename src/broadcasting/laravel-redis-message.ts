// A message of Laravel's redis broadcaster made into a delivery, or the reason it is dropped.
// Laravel publishes `{"event","data","socket"}` on `<prefix><channel>`; Laravel 8 also leaves
// `socket` inside `data`. Nothing here throws, whatever the message holds.
import type { BroadcastDelivery } from '../channels/delivery.ts'
import { deeperThan, MAX_JSON_DEPTH } from '../schemas/json-depth.ts'
import { MAX_EVENT_NAME_LENGTH, reservedEventName, validChannel, validRedisSocket } from './event-data.ts'

export type DropReason = 'too_large' | 'not_json' | 'no_event' | 'reserved_event' | 'bad_channel' | 'bad_socket' | 'too_deep'

export type ReadMessage = { ok: true, delivery: BroadcastDelivery } | { ok: false, reason: DropReason }

export interface MessageRules {
  /** What Laravel puts before channel names; the Redis channel always starts with it (PSUBSCRIBE `<prefix>*`). */
  prefix: string
  /** Largest message, in bytes. */
  maxBytes: number
}

function isObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

export function readBroadcastMessage (redisChannel: string, message: string, { prefix, maxBytes }: MessageRules): ReadMessage {
  if (Buffer.byteLength(message) > maxBytes) return { ok: false, reason: 'too_large' }
  const channel = redisChannel.slice(prefix.length)
  if (!redisChannel.startsWith(prefix) || !validChannel(channel)) return { ok: false, reason: 'bad_channel' }

  let parsed: unknown
  try {
    parsed = JSON.parse(message)
  } catch {
    return { ok: false, reason: 'not_json' }
  }
  if (!isObject(parsed)) return { ok: false, reason: 'not_json' }
  const { event, data } = parsed
  if (typeof event !== 'string' || event.length === 0 || event.length > MAX_EVENT_NAME_LENGTH) return { ok: false, reason: 'no_event' }
  if (reservedEventName(event)) return { ok: false, reason: 'reserved_event' }

  let payload: unknown = data ?? {}
  let socket: unknown = parsed.socket
  if (isObject(payload) && 'socket' in payload) {
    const { socket: inData, ...rest } = payload
    socket ??= inData
    payload = rest
  }
  if (socket !== undefined && socket !== null && (typeof socket !== 'string' || !validRedisSocket(socket))) {
    return { ok: false, reason: 'bad_socket' }
  }
  if (deeperThan(payload, MAX_JSON_DEPTH)) return { ok: false, reason: 'too_deep' }
  return { ok: true, delivery: { channel, event, payload, ...(typeof socket === 'string' && { except: socket }) } }
}
