// What Laravel's broadcasters send, checked: event data decoded, channel names, event names and
// socket ids; shared by the Pusher HTTP API and the redis broadcaster.
import { CHANNEL_PATTERN } from '../schemas/fields.ts'

export const MAX_EVENT_NAME_LENGTH = 200
const channelPattern = new RegExp(CHANNEL_PATTERN)

export function validChannel (name: string): boolean {
  return channelPattern.test(name)
}

/** socket.io's own event names: a client that receives one drops its connection as a parse error. */
const SOCKET_IO_RESERVED = new Set(['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener'])
const PUSHER_RESERVED_PREFIXES = ['pusher:', 'pusher_internal:']

export const RESERVED_EVENT_NAMES = `${[...SOCKET_IO_RESERVED].join(', ')}, and names starting ${PUSHER_RESERVED_PREFIXES.join(' or ')}`

export function reservedEventName (name: string): boolean {
  return SOCKET_IO_RESERVED.has(name) || PUSHER_RESERVED_PREFIXES.some((prefix) => name.startsWith(prefix))
}

export const PUSHER_SOCKET_ID_PATTERN = '^\\d{1,32}\\.\\d{1,32}$'

/** Pusher's shape, or socket.io's own ids (laravel-echo-server's clients sent them); no `/`, so no internal room. */
const redisSocketPattern = /^[A-Za-z0-9_\-.]{1,64}$/

export function validRedisSocket (socket: string): boolean {
  return redisSocketPattern.test(socket)
}

/** Pusher's `data`, decoded when it holds a JSON object or array (what Laravel sends), else delivered as given. */
export function decodeEventData (data: string): unknown {
  const first = data.trimStart()[0]
  if (first !== '{' && first !== '[') return data
  try {
    return JSON.parse(data) as unknown
  } catch {
    return data
  }
}
