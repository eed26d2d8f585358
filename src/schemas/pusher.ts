// The Pusher HTTP API (docs/broadcasting.md): what Laravel's `pusher` broadcaster and Pusher's server
// SDKs send and get back. Validation, OpenAPI entries and request types in one place.
import { Type, type Static } from 'typebox'
import { MAX_EVENT_NAME_LENGTH, PUSHER_SOCKET_ID_PATTERN, RESERVED_EVENT_NAMES } from '../broadcasting/event-data.ts'
import { Channel } from './fields.ts'

export const AppId = Type.String({
  minLength: 1,
  maxLength: 64,
  description: 'The Pusher app id: `BRIDGE_PUSHER_APP_ID` (Laravel\'s `PUSHER_APP_ID`); any other is answered 401',
  examples: ['bridge-app']
})

export const PusherAppParams = Type.Object({ app_id: AppId })
export const PusherChannelParams = Type.Object({ app_id: AppId, channel: Channel })

/** The signature parameters every request carries; documented here, checked by plugins/app/pusher-auth.ts. */
const signatureQuery = {
  auth_key: Type.String({ description: 'The app key: `BRIDGE_PUSHER_KEY` (Laravel\'s `PUSHER_APP_KEY`)' }),
  auth_timestamp: Type.String({ description: 'Unix seconds when the request was signed; refused more than 600 s away from the bridge\'s clock' }),
  auth_version: Type.Optional(Type.Literal('1.0')),
  body_md5: Type.Optional(Type.String({ description: 'Hex MD5 of the request body; required with a body' })),
  auth_signature: Type.String({
    description: 'Hex HMAC-SHA256 with the app secret of `METHOD\\npath\\nquery`, where query is every other parameter, ' +
      'keys sorted, `key=value` joined by `&`. Pusher\'s server SDKs compute it; Swagger UI cannot'
  })
}

const EventName = Type.String({
  minLength: 1,
  maxLength: MAX_EVENT_NAME_LENGTH,
  description: 'The event name Echo listens for: the class name (`App\\Events\\OrderShipped`, listened to as ' +
    '`.listen(\'OrderShipped\')`) or `broadcastAs()` (listened to with a leading dot, `.listen(\'.order.shipped\')`). ' +
    `Names socket.io or Pusher reserve for their own events are refused with a 400: ${RESERVED_EVENT_NAMES}`,
  examples: ['App\\Events\\OrderShipped']
})

const EventData = Type.String({
  description: 'The payload as a JSON string. A JSON object or array is delivered decoded (what Laravel sends: the ' +
    'event\'s public properties or `broadcastWith()`), and follows the publish API\'s JSON rules: at most 32 levels deep, ' +
    'no `__proto__` key and no `constructor` with a `prototype` (400 naming the key); any other string is delivered as it is',
  examples: ['{"order":{"id":1}}']
})

const SocketId = Type.String({
  pattern: PUSHER_SOCKET_ID_PATTERN,
  description: 'Laravel\'s `toOthers()`: the socket (Echo\'s `X-Socket-Id`) that must not get the event; ' +
    'Pusher\'s shape, `<digits>.<digits>`',
  examples: ['1234.5678']
})

const InfoAttributes = Type.String({
  maxLength: 200,
  description: 'Comma-separated channel attributes to answer with: `subscription_count`, `user_count` (presence channels)',
  examples: ['subscription_count,user_count']
})

export const TriggerQuery = Type.Object(signatureQuery)

/** A signed-in user's own channel (the SDKs' `sendToUser`): only that user's Pusher-protocol connections get it. */
const ServerToUserChannel = Type.String({
  pattern: '^#server-to-user-[A-Za-z0-9_\\-=@,.;:]{1,128}$',
  description: '`#server-to-user-<user id>`: what `sendToUser` sends to, reaching the connections signed in as that user (`pusher:signin`)',
  examples: ['#server-to-user-42']
})
const TriggerChannel = Type.Union([Channel, ServerToUserChannel])

export const TriggerRequest = Type.Object({
  name: EventName,
  data: EventData,
  channel: Type.Optional(TriggerChannel),
  channels: Type.Optional(Type.Array(TriggerChannel, {
    minItems: 1,
    maxItems: 100,
    description: 'The channels to publish to (1-100); send `channel` or `channels`, not both'
  })),
  socket_id: Type.Optional(SocketId),
  info: Type.Optional(InfoAttributes)
}, { title: 'PusherTriggerRequest' })

export type TriggerRequest = Static<typeof TriggerRequest>

export const BatchEvent = Type.Object({
  channel: Channel,
  name: EventName,
  data: EventData,
  socket_id: Type.Optional(SocketId),
  info: Type.Optional(InfoAttributes)
}, { title: 'PusherBatchEvent' })

export type BatchEvent = Static<typeof BatchEvent>

export const BatchRequest = Type.Object({
  batch: Type.Array(BatchEvent, { minItems: 1, maxItems: 100, description: 'The events, 1-100, delivered all or nothing, in order' })
}, { title: 'PusherBatchRequest' })

export const ChannelAttributes = Type.Object({
  subscription_count: Type.Optional(Type.Integer({ minimum: 0, description: 'Sockets subscribed to the channel, on every node' })),
  user_count: Type.Optional(Type.Integer({ minimum: 0, description: 'Distinct members of a presence channel' }))
}, { title: 'PusherChannelAttributes' })

export type ChannelAttributes = Static<typeof ChannelAttributes>

export const TriggerAnswer = Type.Object({
  channels: Type.Optional(Type.Record(Type.String(), ChannelAttributes, {
    description: 'Only when `info` was asked for: the attributes of each channel after the publish'
  }))
}, { title: 'PusherTriggerAnswer' })

export const BatchAnswer = Type.Object({
  batch: Type.Array(ChannelAttributes, { description: 'One entry per event, in order: `{}`, or the attributes `info` asked for' })
}, { title: 'PusherBatchAnswer' })

export const ChannelsQuery = Type.Object({
  ...signatureQuery,
  filter_by_prefix: Type.Optional(Type.String({ maxLength: 164, description: 'Only channels whose name starts with this', examples: ['presence-'] })),
  info: Type.Optional(Type.String({
    maxLength: 200,
    description: 'Comma-separated attributes for each channel: `subscription_count`, and `user_count` with `filter_by_prefix=presence-`'
  }))
})

export const ChannelsAnswer = Type.Object({
  channels: Type.Record(Type.String(), ChannelAttributes, { description: 'Every channel with at least one subscriber, by name' })
}, { title: 'PusherChannels' })

export const ChannelQuery = Type.Object({
  ...signatureQuery,
  info: Type.Optional(InfoAttributes)
})

export const ChannelAnswer = Type.Object({
  occupied: Type.Boolean({ description: 'Whether any socket is subscribed, on any node' }),
  subscription_count: Type.Optional(Type.Integer({ minimum: 0 })),
  user_count: Type.Optional(Type.Integer({ minimum: 0 }))
}, { title: 'PusherChannel' })

export const UsersQuery = Type.Object(signatureQuery)

export const PusherUserParams = Type.Object({
  app_id: AppId,
  user_id: Type.String({ pattern: '^[A-Za-z0-9_\\-=@,.;:]{1,128}$', description: 'The user id its connections signed in with (`pusher:signin` user_data\'s `id`)' })
})
export const TerminateAnswer = Type.Object({}, { title: 'PusherTerminated', description: 'Handed on to every node' })

export const UsersAnswer = Type.Object({
  users: Type.Array(Type.Object({ id: Type.String({ description: 'The member\'s `user_id` from `channel_data`' }) }), {
    description: 'One entry per member (a user with several sockets is one member)'
  })
}, { title: 'PusherUsers' })

export const PusherError = Type.Object({
  error: Type.String({ description: 'What is wrong, in words; Laravel shows it in its BroadcastException' })
}, { title: 'PusherError' })

/** A Pusher error answer with its own example, so each status shows what it looks like. */
function pusherError (description: string, error: string) {
  return { ...PusherError, description, examples: [{ error }] }
}

/** Error answers every Pusher route may give, in Pusher's shape. */
export const pusherErrors = {
  400: pusherError('Invalid body or query (the message names the field), malformed JSON, `data` breaking the JSON rules, or a reserved event name', 'body/name is required'),
  401: pusherError('Not signed by the configured app: wrong app id, key, signature or body_md5, or auth_timestamp more than 600 s away', 'Invalid signature'),
  413: pusherError('Body larger than BRIDGE_BODY_LIMIT', 'Request body is too large'),
  415: pusherError('Content-Type is not application/json', 'Content-Type must be application/json'),
  503: pusherError('Overloaded, shutting down, or in cluster mode Redis is unreachable; nothing was published, retry after the Retry-After header\'s seconds', 'The bridge is overloaded; retry in 5 seconds')
}
