// What Laravel's broadcasters send, made into deliveries: event data decoded, channel names,
// event names and socket ids checked. Plain code, shared by the Pusher HTTP API and the redis
// broadcaster's subscriber.
import { CHANNEL_PATTERN } from '../schemas/fields.ts'

/** Longest event name, as Pusher allows. */
export const MAX_EVENT_NAME_LENGTH = 200
const channelPattern = new RegExp(CHANNEL_PATTERN)

export function validChannel (name: string): boolean {
  return channelPattern.test(name)
}

/**
 * Event names socket.io keeps for its own events: a socket.io client that receives one drops
 * its connection as a parse error (and, recovering, would receive it again).
 */
const SOCKET_IO_RESERVED = new Set(['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener'])
/** Prefixes of the events of Pusher's own protocol. */
const PUSHER_RESERVED_PREFIXES = ['pusher:', 'pusher_internal:']

/** The reserved names, as the docs and error messages list them. */
export const RESERVED_EVENT_NAMES = `${[...SOCKET_IO_RESERVED].join(', ')}, and names starting ${PUSHER_RESERVED_PREFIXES.join(' or ')}`

/** Whether no publish may use `name`: socket.io or Pusher reserve it (the one list, for every publish path). */
export function reservedEventName (name: string): boolean {
  return SOCKET_IO_RESERVED.has(name) || PUSHER_RESERVED_PREFIXES.some((prefix) => name.startsWith(prefix))
}

/** Pusher's (and so Laravel's `pusher` driver's) socket id shape, `<digits>.<digits>`. */
export const PUSHER_SOCKET_ID_PATTERN = '^\\d{1,32}\\.\\d{1,32}$'

/**
 * A socket id the redis broadcaster may carry: Pusher's shape, or socket.io's own ids (as
 * laravel-echo-server's clients sent them). No `/`, so no internal room can be named.
 */
const redisSocketPattern = /^[A-Za-z0-9_\-.]{1,64}$/

export function validRedisSocket (socket: string): boolean {
  return redisSocketPattern.test(socket)
}

/**
 * Pusher's `data`: the JSON string of the event's payload. Decoded when it holds a JSON
 * object or array (what Laravel sends), delivered as given otherwise (a plain string, a
 * number in a string): Pusher's own clients would do no better with it.
 */
export function decodeEventData (data: string): unknown {
  const first = data.trimStart()[0]
  if (first !== '{' && first !== '[') return data
  try {
    return JSON.parse(data) as unknown
  } catch {
    return data
  }
}
