// The Pusher protocol part of the AsyncAPI document (src/documents/asyncapi.ts): the frames of a
// connection on `/app/{key}` (docs/pusher.md), as messages, operations and schemas of one channel.
import * as frames from '../schemas/pusher-protocol.ts'

interface PusherMessage {
  schema: keyof typeof frames
  summary: string
  example: unknown
  action: 'send' | 'receive'
}

const messages: Record<string, PusherMessage> = {
  pusherSubscribe: { schema: 'PusherSubscribe', action: 'receive', summary: 'Join a channel: public at once, private and presence with the app\'s signature', example: { event: 'pusher:subscribe', data: { channel: 'private-chat.1', auth: 'my-key:6b1e…' } } },
  pusherUnsubscribe: { schema: 'PusherUnsubscribe', action: 'receive', summary: 'Leave a channel', example: { event: 'pusher:unsubscribe', data: { channel: 'private-chat.1' } } },
  pusherClientPing: { schema: 'PusherPing', action: 'receive', summary: 'The client checks the connection; answered pusher:pong', example: { event: 'pusher:ping', data: {} } },
  pusherClientPong: { schema: 'PusherPong', action: 'receive', summary: 'The answer to the bridge\'s pusher:ping', example: { event: 'pusher:pong', data: {} } },
  pusherSignin: { schema: 'PusherSignin', action: 'receive', summary: 'Sign the connection in as a user (pusher-js signin())', example: { event: 'pusher:signin', data: { auth: 'my-key:0f3a…', user_data: '{"id":"42"}' } } },
  pusherClientEvent: { schema: 'PusherClientEvent', action: 'receive', summary: 'A client event (whisper), relayed to the channel\'s other sockets of every protocol, never back', example: { event: 'client-typing', channel: 'private-chat.1', data: { name: 'Ann' } } },
  pusherConnectionEstablished: { schema: 'PusherConnectionEstablished', action: 'send', summary: 'The connection is ready: its socket id and activity_timeout', example: { event: 'pusher:connection_established', data: '{"socket_id":"123.456","activity_timeout":120}' } },
  pusherSubscriptionSucceeded: { schema: 'PusherSubscriptionSucceeded', action: 'send', summary: 'Subscribed (presence: every member, one entry per user)', example: { event: 'pusher_internal:subscription_succeeded', channel: 'presence-room.1', data: '{"presence":{"ids":["1"],"hash":{"1":{"name":"Ann"}},"count":1}}' } },
  pusherSubscriptionError: { schema: 'PusherSubscriptionError', action: 'send', summary: 'A subscription refused; nothing of the channel is delivered', example: { event: 'pusher:subscription_error', channel: 'private-chat.2', data: '{"type":"AuthError","error":"invalid signature","status":401}' } },
  pusherMemberAdded: { schema: 'PusherMemberAdded', action: 'send', summary: 'A user\'s first connection joined the presence channel (any protocol, any node)', example: { event: 'pusher_internal:member_added', channel: 'presence-room.1', data: '{"user_id":"2","user_info":{"name":"Bob"}}' } },
  pusherMemberRemoved: { schema: 'PusherMemberRemoved', action: 'send', summary: 'A user\'s last connection left the presence channel', example: { event: 'pusher_internal:member_removed', channel: 'presence-room.1', data: '{"user_id":"2"}' } },
  pusherServerPing: { schema: 'PusherPing', action: 'send', summary: 'Sent after activity_timeout seconds of silence; no answer within 30 s closes with 4201', example: { event: 'pusher:ping', data: '{}' } },
  pusherServerPong: { schema: 'PusherPong', action: 'send', summary: 'The answer to the client\'s pusher:ping', example: { event: 'pusher:pong', data: '{}' } },
  pusherSigninSuccess: { schema: 'PusherSigninSuccess', action: 'send', summary: 'Signed in; the connection is in #server-to-user-<id>', example: { event: 'pusher:signin_success', data: '{"user_data":"{\\"id\\":\\"42\\"}"}' } },
  pusherError: { schema: 'PusherError', action: 'send', summary: 'A frame refused (why in message), or the reason of a close that follows', example: { event: 'pusher:error', data: { code: null, message: 'unknown event: pusher:bogus' } } },
  pusherChannelEvent: { schema: 'PusherChannelEvent', action: 'send', summary: 'Every event of a channel the socket is in, from every publish path, data a JSON string', example: { event: 'new_message', channel: 'private-chat_123', data: '{"room":"chat_123","uuid":"msg-1","message":{"id":1}}' } }
}

/** The Pusher-protocol messages of the channel `channel`, its operations and its components. */
export function pusherAsyncapi (channel: string, plain: <T>(schema: T) => T) {
  const channelRef = { $ref: `#/channels/${channel}` }
  const used = [...new Set(Object.values(messages).map(({ schema }) => schema))]
  return {
    channelMessages: Object.fromEntries(Object.keys(messages).map((id) => [id, { $ref: `#/components/messages/${id}` }])),
    operations: Object.fromEntries(Object.entries(messages).map(([id, message]) => [id, {
      action: message.action,
      channel: channelRef,
      summary: message.summary,
      messages: [{ $ref: `#/channels/${channel}/messages/${id}` }]
    }])),
    schemas: Object.fromEntries(used.map((name) => [name, plain(frames[name])])),
    messages: Object.fromEntries(Object.entries(messages).map(([id, message]) => [id, {
      name: (message.example as { event: string }).event,
      title: (frames[message.schema] as { title?: string }).title,
      summary: message.summary,
      payload: { $ref: `#/components/schemas/${message.schema}` },
      examples: [{ name: id, payload: message.example }]
    }]))
  }
}
