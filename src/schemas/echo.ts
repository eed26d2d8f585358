// Laravel Echo's socket.io protocol as schemas, for the AsyncAPI document: what Echo sends
// (`subscribe`, `unsubscribe`, `client event`) and the arguments of what the bridge emits to it.
import { Type, type Static } from 'typebox'
import { CHANNEL_PATTERN } from './fields.ts'

export const EchoChannel = Type.String({
  minLength: 1,
  maxLength: 164,
  pattern: CHANNEL_PATTERN,
  description: 'Channel name: 1-164 characters of A-Z a-z 0-9 _ - = @ , . ; : (`private-…` and `presence-…` need authorization)',
  examples: ['private-chat.1']
})

export const EchoSubscribeRequest = Type.Object({
  channel: EchoChannel,
  auth: Type.Optional(Type.Object({
    headers: Type.Optional(Type.Object({
      Authorization: Type.Optional(Type.String({ description: 'Forwarded to BRIDGE_AUTH_ENDPOINT (Echo\'s `bearerToken`)' })),
      'X-CSRF-TOKEN': Type.Optional(Type.String({ description: 'Forwarded to BRIDGE_AUTH_ENDPOINT (Echo\'s `csrfToken`, or the page\'s csrf-token meta tag)' }))
    }, { additionalProperties: true, description: 'Only Authorization and X-CSRF-TOKEN are used' }))
  }))
}, { title: 'EchoSubscribeRequest' })

export type EchoSubscribeRequest = Static<typeof EchoSubscribeRequest>

export const EchoUnsubscribeRequest = Type.Object({ channel: EchoChannel }, { title: 'EchoUnsubscribeRequest' })
export type EchoUnsubscribeRequest = Static<typeof EchoUnsubscribeRequest>

export const EchoClientEvent = Type.Object({
  channel: EchoChannel,
  event: Type.String({ pattern: '^client-[\\x21-\\x7e]{1,192}$', description: 'The whisper\'s name, `client-` and Echo\'s name for it' }),
  data: Type.Unknown({ description: 'Any JSON: at most 10 KB encoded, nested at most 32 levels' })
}, { title: 'EchoClientEvent' })

export type EchoClientEvent = Static<typeof EchoClientEvent>

export const PresenceMember = Type.Object({
  user_id: Type.Union([Type.String(), Type.Number()], { description: 'Laravel\'s user id; "1" and 1 are the same user' }),
  user_info: Type.Optional(Type.Unknown({ description: 'What the channel\'s rule in routes/channels.php returned (or the token\'s user_info claim)' }))
}, { title: 'PresenceMember' })

/** socket.io sends an event's arguments as a list: these are those lists. */
export const EchoChannelEventArguments = Type.Tuple([EchoChannel, Type.Unknown({ description: 'The event\'s data' })], {
  title: 'EchoChannelEventArguments',
  description: '`(channel, data)` after the event name: Echo\'s listeners filter on the channel'
})
export const SubscriptionSucceededArguments = Type.Tuple([EchoChannel], { title: 'SubscriptionSucceededArguments' })
export const SubscriptionErrorArguments = Type.Tuple([
  Type.String({ description: 'The channel as the client named it' }),
  Type.Integer({ description: 'Laravel\'s status; 403 the bridge\'s own refusal; 429 too many subscribes, or too many calls to Laravel under way; 502 Laravel unreachable or a broken answer; 504 no answer in time' })
], { title: 'SubscriptionErrorArguments' })
export const PresenceSubscribedArguments = Type.Tuple([EchoChannel, Type.Array(PresenceMember)], { title: 'PresenceSubscribedArguments' })
export const PresenceChangeArguments = Type.Tuple([EchoChannel, PresenceMember], { title: 'PresenceChangeArguments' })
