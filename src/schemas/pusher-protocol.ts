// The Pusher channels protocol's frames (pusher-js, docs/pusher.md), for the AsyncAPI document:
// text JSON `{ event, channel?, data }`; `data` of the bridge's frames is a JSON string.
import { Type, type TSchema } from 'typebox'

const JsonString = (description: string) => Type.String({ description: `A JSON string: ${description}` })

function frame (event: string, data: TSchema, options: { channel?: boolean, title: string }) {
  return Type.Object({
    event: Type.Literal(event),
    ...(options.channel === true && { channel: Type.String({ description: 'The channel name' }) }),
    data
  }, { title: options.title })
}

export const PusherSubscribe = frame('pusher:subscribe', Type.Object({
  channel: Type.String(),
  auth: Type.Optional(Type.String({ description: '`<key>:<hex HMAC-SHA256(secret, socket_id:channel[:channel_data])>`, from Laravel\'s /broadcasting/auth; empty for public channels' })),
  channel_data: Type.Optional(Type.String({ description: 'Presence channels: a JSON string of `{ user_id, user_info? }`' }))
}), { title: 'PusherSubscribe' })
export const PusherUnsubscribe = frame('pusher:unsubscribe', Type.Object({ channel: Type.String() }), { title: 'PusherUnsubscribe' })
export const PusherPing = frame('pusher:ping', Type.Unknown({ description: '`{}` (the bridge sends "{}")' }), { title: 'PusherPing' })
export const PusherPong = frame('pusher:pong', Type.Unknown({ description: '`{}`' }), { title: 'PusherPong' })
export const PusherSignin = frame('pusher:signin', Type.Object({
  auth: Type.String({ description: '`<key>:<hex HMAC-SHA256(secret, socket_id::user::user_data)>`' }),
  user_data: Type.String({ description: 'A JSON string with a string `id`' })
}), { title: 'PusherSignin' })
export const PusherClientEvent = Type.Object({
  event: Type.String({ pattern: '^client-', description: '`client-…`' }),
  channel: Type.String({ description: 'A private or presence channel the socket is subscribed to' }),
  data: Type.Unknown({ description: 'At most 10 KiB of JSON' })
}, { title: 'PusherClientEvent' })
export const PusherConnectionEstablished = frame('pusher:connection_established',
  JsonString('`{ "socket_id": "<digits>.<digits>", "activity_timeout": 120 }`'), { title: 'PusherConnectionEstablished' })
export const PusherSubscriptionSucceeded = frame('pusher_internal:subscription_succeeded',
  JsonString('`{}`, or for presence channels `{ "presence": { "ids", "hash", "count" } }`, one entry per user'), { channel: true, title: 'PusherSubscriptionSucceeded' })
export const PusherSubscriptionError = frame('pusher:subscription_error',
  JsonString('`{ "type": "AuthError", "error": "<why>", "status": 401 }`'), { channel: true, title: 'PusherSubscriptionError' })
export const PusherMemberAdded = frame('pusher_internal:member_added', JsonString('`{ "user_id", "user_info" }`'), { channel: true, title: 'PusherMemberAdded' })
export const PusherMemberRemoved = frame('pusher_internal:member_removed', JsonString('`{ "user_id" }`'), { channel: true, title: 'PusherMemberRemoved' })
export const PusherSigninSuccess = frame('pusher:signin_success', JsonString('`{ "user_data": "<the user_data sent>" }`'), { title: 'PusherSigninSuccess' })
export const PusherError = frame('pusher:error', Type.Object({
  code: Type.Union([Type.Integer(), Type.Null()], { description: '4001 unknown key, 4100 over capacity, 4301 client events past the rate; null otherwise' }),
  message: Type.String()
}), { title: 'PusherErrorFrame' })
export const PusherChannelEvent = Type.Object({
  event: Type.String({ description: 'The event name (`new_message`, `App\\Events\\OrderShipped`, `client-typing`, …)' }),
  channel: Type.String(),
  data: JsonString('the event\'s payload')
}, { title: 'PusherChannelEvent' })
