// The Laravel Echo part of the AsyncAPI document (src/documents/asyncapi.ts): what Echo sends, what the
// bridge emits to it, as messages, operations and schemas of the one socket.io channel.
import {
  EchoChannelEventArguments,
  EchoClientEvent,
  EchoSubscribeRequest,
  EchoUnsubscribeRequest,
  PresenceChangeArguments,
  PresenceMember,
  PresenceSubscribedArguments,
  SubscriptionErrorArguments,
  SubscriptionSucceededArguments
} from '../schemas/echo.ts'

interface EchoMessage {
  /** The socket.io event name. */
  name: string
  title: string
  summary: string
  schema: string
  example: unknown
  action: 'send' | 'receive'
  description: string
}

const messages: Record<string, EchoMessage> = {
  echoSubscribe: {
    name: 'subscribe',
    title: 'Echo subscribe',
    summary: 'Laravel Echo joins a channel (no ack: answered by subscription_succeeded or subscription_error)',
    schema: 'EchoSubscribeRequest',
    example: { channel: 'private-chat.1', auth: { headers: { 'X-CSRF-TOKEN': 'csrf-token-of-the-page' } } },
    action: 'receive',
    description: 'A payload with `channel` is Echo\'s, one with `room` the bridge\'s own (room `R` and the private ' +
      'channel `private-R` are one audience). Public channels need nothing; ' +
      '`private-` and `presence-` channels are authorized by Laravel\'s `/broadcasting/auth` (BRIDGE_AUTH_ENDPOINT) or ' +
      'by the connection token\'s `rooms` claim. Echo sends it again after every reconnect; a channel the socket is ' +
      'already in is not authorized again.\n\n```js\nEcho.private(\'chat.1\').listen(\'MessageSent\', (e) => {})\n```'
  },
  echoUnsubscribe: {
    name: 'unsubscribe',
    title: 'Echo unsubscribe',
    summary: 'Laravel Echo leaves a channel',
    schema: 'EchoUnsubscribeRequest',
    example: { channel: 'private-chat.1' },
    action: 'receive',
    description: '```js\nEcho.leave(\'chat.1\')\n```'
  },
  clientEvent: {
    name: 'client event',
    title: 'Whisper',
    summary: 'Laravel Echo whispers to the channel\'s other sockets',
    schema: 'EchoClientEvent',
    example: { channel: 'private-chat.1', event: 'client-typing', data: { name: 'Ann' } },
    action: 'receive',
    description: 'Relayed only on `private-`/`presence-` channels the socket was authorized for, never back to the ' +
      'sender; at most 10 KB and BRIDGE_MAX_WHISPERS_PER_SECOND per connection (the rest is dropped and counted).' +
      '\n\n```js\nEcho.private(\'chat.1\').whisper(\'typing\', { name: \'Ann\' })\n```'
  },
  echoChannelEvent: {
    name: '<event name>',
    title: 'Channel event (Echo)',
    summary: 'Every event of a channel, to its Echo subscribers, as (eventName, channel, data)',
    schema: 'EchoChannelEventArguments',
    example: ['private-chat_123', { room: 'chat_123', uuid: 'msg-1', message: { id: 1, text: 'Привет!' } }],
    action: 'send',
    description: 'A publish of the HTTP API to room `R` reaches Echo subscribers of the private channel `private-R` ' +
      '(`Echo.private(\'R\').listen(\'.new_message\')`, with a leading dot), never those of a public channel `R`; ' +
      'an event Laravel broadcasts on `private-R` reaches room `R`\'s subscribers as (eventName, data). ' +
      'A whisper arrives as `client-…` the same way, to Echo subscribers only.'
  },
  subscriptionSucceeded: {
    name: 'subscription_succeeded',
    title: 'Subscription made',
    summary: 'The socket is subscribed to the channel (Echo ignores it; a frontend may listen on Echo.connector.socket)',
    schema: 'SubscriptionSucceededArguments',
    example: ['private-chat.1'],
    action: 'send',
    description: 'Sent for each successful Echo subscribe, also when the socket was subscribed already.'
  },
  subscriptionError: {
    name: 'subscription_error',
    title: 'Subscription refused',
    summary: 'An Echo subscription was refused, with an HTTP-like status',
    schema: 'SubscriptionErrorArguments',
    example: ['private-chat.2', 403],
    action: 'send',
    description: 'Echo\'s socket.io connector does not surface it: listen on `Echo.connector.socket`.'
  },
  presenceSubscribed: {
    name: 'presence:subscribed',
    title: 'Presence members',
    summary: 'Every member of a presence channel, the socket\'s own user included, to the socket that joined (Echo\'s here())',
    schema: 'PresenceSubscribedArguments',
    example: ['presence-room.1', [{ user_id: 1, user_info: { id: 1, name: 'Ann' } }]],
    action: 'send',
    description: 'One member per user however many sockets they have there; never a socket id. Once per connection and channel: a repeated `subscribe` gets only `subscription_succeeded`.'
  },
  presenceJoining: {
    name: 'presence:joining',
    title: 'Member joining',
    summary: 'A user\'s first socket joined the presence channel (Echo\'s joining())',
    schema: 'PresenceChangeArguments',
    example: ['presence-room.1', { user_id: 2, user_info: { id: 2, name: 'Bob' } }],
    action: 'send',
    description: 'To the channel\'s other sockets, at most once a second per user and channel: changes within that second are coalesced, and a join and a leave within it announce nothing.'
  },
  presenceLeaving: {
    name: 'presence:leaving',
    title: 'Member leaving',
    summary: 'A user\'s last socket left the presence channel (Echo\'s leaving())',
    schema: 'PresenceChangeArguments',
    example: ['presence-room.1', { user_id: 2, user_info: { id: 2, name: 'Bob' } }],
    action: 'send',
    description: 'When their last socket there unsubscribes or disconnects, or its node dies; at most once a second per user and channel, as `presence:joining`.'
  }
}

const schemas = {
  EchoSubscribeRequest,
  EchoUnsubscribeRequest,
  EchoClientEvent,
  PresenceMember,
  EchoChannelEventArguments,
  SubscriptionSucceededArguments,
  SubscriptionErrorArguments,
  PresenceSubscribedArguments,
  PresenceChangeArguments
}

/** The Echo messages of the channel `channel`, its operations and its components. */
export function echoAsyncapi (channel: string, plain: <T>(schema: T) => T) {
  const channelRef = { $ref: `#/channels/${channel}` }
  return {
    channelMessages: Object.fromEntries(Object.keys(messages).map((id) => [id, { $ref: `#/components/messages/${id}` }])),
    operations: Object.fromEntries(Object.entries(messages).map(([id, message]) => [id, {
      action: message.action,
      channel: channelRef,
      summary: message.summary,
      description: message.description,
      messages: [{ $ref: `#/channels/${channel}/messages/${id}` }]
    }])),
    schemas: Object.fromEntries(Object.entries(schemas).map(([name, schema]) => [name, plain(schema)])),
    messages: Object.fromEntries(Object.entries(messages).map(([id, message]) => [id, {
      name: message.name,
      title: message.title,
      summary: message.summary,
      payload: { $ref: `#/components/schemas/${message.schema}` },
      examples: [{ name: id, payload: message.example }]
    }]))
  }
}
