// The socket.io side as an AsyncAPI 3.0 document, built from the same schemas as the HTTP API:
// served at /docs/asyncapi.yaml, committed as asyncapi.yaml (`npm run asyncapi`).
import { stringify } from 'yaml'
import { eventKinds, type EventName, type EventPayloads } from '../schemas/events.ts'
import { SubscribedNotice, SubscribeRequest, SubscriptionAck, UnsubscribeRequest } from '../schemas/socket.ts'
import { echoAsyncapi } from './asyncapi-echo.ts'
import { pusherAsyncapi } from './asyncapi-pusher.ts'
import { packageJson } from '../ops/package-info.ts'

const CHANNEL = 'socket'
const PUSHER_CHANNEL = 'pusher'
const channelRef = { $ref: `#/channels/${CHANNEL}` }
const channelMessage = (name: string) => ({ $ref: `#/channels/${CHANNEL}/messages/${name}` })

/** One example per event, as a frontend receives it. */
const examples: { [E in EventName]: EventPayloads[E] } = {
  new_message: {
    room: 'chat_123',
    uuid: 'msg-1',
    message: { id: 1, text: 'Привет!', from: 42, timestamp: '2026-11-24T10:00:00Z' }
  },
  edit_message: { room: 'chat_123', uuid: 'msg-1-edit-1', messageId: 1, message: { id: 1, text: 'Привет, мир!' } },
  reply_message: { room: 'chat_123', uuid: 'msg-2', replyTo: 1, message: { id: 2, text: 'Hi!', from: 7 } },
  delete_message: { room: 'chat_123', uuid: 'msg-1-delete', messageId: 1 },
  status_update: { room: 'chat_123', uuid: 'msg-1-read-7', messageId: 1, status: 'read' }
}

const description = [
  'Browsers and apps connect to the bridge with the standard socket.io v4 client, join rooms, and ' +
  'receive the events Laravel publishes over the HTTP API (Swagger UI at `/docs`).',
  '```js\n' +
  'const socket = io(\'https://bridge.example.com\', { auth: { token } })\n' +
  'socket.emit(\'subscribe\', { room: \'chat_123\' }, (ack) => {})\n' +
  'socket.on(\'new_message\', ({ room, uuid, message }) => {})\n' +
  '```',
  'Each event goes only to the sockets subscribed to the payload\'s `room`. Its payload is the ' +
  'accepted publish body with `uuid` filled in, and nothing else.',
  'Laravel Echo (`broadcaster: \'socket.io\'`) works on the same connection: its `subscribe { channel }`, ' +
  '`unsubscribe` and whispers (`client event`), presence channels, and every channel event as ' +
  '`(eventName, channel, data)` (docs/echo.md). One audience per name: room `R` and Echo\'s private channel ' +
  '`private-R` are one protected channel, so a publish to room `R` reaches `Echo.private(\'R\')` too, and ' +
  'an event Laravel broadcasts on `private-R` reaches room `R`; a public channel `R` is another audience.',
  'pusher-js (Echo\'s `reverb` and `pusher` connectors) connects to `/app/{key}` on the same port and speaks the ' +
  'Pusher channels protocol (the `pusher` server and channel, docs/pusher.md), in the same channels and presence.'
].join('\n\n')

/** Drops TypeBox's symbol keys: the document is plain JSON Schema. */
function plain<T> (schema: T): T {
  return JSON.parse(JSON.stringify(schema)) as T
}

function asyncapiDocument () {
  const echo = echoAsyncapi(CHANNEL, plain)
  const pusher = pusherAsyncapi(PUSHER_CHANNEL, plain)
  const eventMessages = Object.fromEntries(eventKinds.map((kind) => [kind.event, {
    name: kind.event,
    title: kind.payloadName,
    summary: `Emitted into \`room\` for each accepted \`POST /api/sms/${kind.kind}\` (or batch item of type \`${kind.kind}\`)`,
    payload: { $ref: `#/components/schemas/${kind.payloadName}` },
    examples: [{ name: kind.event, payload: examples[kind.event] }]
  }]))

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Laravel realtime bridge: socket.io events',
      version: packageJson.version,
      description
    },
    defaultContentType: 'application/json',
    servers: {
      bridge: {
        host: 'localhost:3000',
        protocol: 'ws',
        pathname: '/socket.io/',
        title: 'The bridge',
        description: 'socket.io v4 (WebSocket, with HTTP long-polling fallback) on the same port as the HTTP API.',
        security: [{ $ref: '#/components/securitySchemes/socketToken' }]
      },
      pusher: {
        host: 'localhost:3000',
        protocol: 'ws',
        pathname: '/app/{key}',
        title: 'The bridge, Pusher protocol',
        description: 'The Pusher channels protocol, version 7 (pusher-js adds `?protocol=7&client=js&…`), on the same port; ' +
          '`key` is BRIDGE_PUSHER_KEY. Needs the Pusher app (BRIDGE_PUSHER_APP_ID, _KEY, _SECRET).',
        variables: { key: { description: 'The app key, BRIDGE_PUSHER_KEY' } }
      }
    },
    channels: {
      [CHANNEL]: {
        address: '/',
        title: 'The default socket.io namespace',
        description: 'Every event travels on the connection\'s default namespace; rooms decide which sockets receive ' +
          'an event, and a socket joins them with `subscribe`.',
        messages: {
          ...Object.fromEntries(eventKinds.map((kind) => [kind.event, { $ref: `#/components/messages/${kind.event}` }])),
          subscribed: { $ref: '#/components/messages/subscribed' },
          subscribe: { $ref: '#/components/messages/subscribe' },
          unsubscribe: { $ref: '#/components/messages/unsubscribe' },
          subscriptionAck: { $ref: '#/components/messages/subscriptionAck' },
          ...echo.channelMessages
        },
        servers: [{ $ref: '#/servers/bridge' }]
      },
      [PUSHER_CHANNEL]: {
        address: null,
        title: 'A Pusher-protocol connection',
        description: 'Text JSON frames `{ event, channel?, data }`; subscriptions choose which channel events arrive.',
        messages: pusher.channelMessages,
        servers: [{ $ref: '#/servers/pusher' }]
      }
    },
    operations: {
      ...Object.fromEntries(eventKinds.map((kind) => [kind.event, {
        action: 'send',
        channel: channelRef,
        summary: `The bridge emits \`${kind.event}\` to the sockets subscribed to the payload's room`,
        description: `\`\`\`js\nsocket.on('${kind.event}', (data) => { /* ${kind.payloadName} */ })\n\`\`\``,
        messages: [channelMessage(kind.event)]
      }])),
      subscribed: {
        action: 'send',
        channel: channelRef,
        summary: 'The bridge confirms a connection\'s first subscription',
        description: 'Sent once per connection, just before the ack of its first successful `subscribe`. ' +
          'Clients may ignore it: socket.io replays missed events (connection state recovery) only to a client ' +
          'that has received an event, and this one makes that true from the first subscription on.',
        messages: [channelMessage('subscribed')]
      },
      subscribe: {
        action: 'receive',
        channel: channelRef,
        summary: 'A socket joins a room',
        description: 'Allowed when the connection token\'s `rooms` claim or the per-room `token` grants the room. ' +
          'A socket may be in at most `BRIDGE_MAX_ROOMS_PER_SOCKET` rooms.\n\n' +
          '```js\nsocket.emit(\'subscribe\', { room: \'chat_123\' }, (ack) => {})\n```',
        messages: [channelMessage('subscribe')],
        reply: { channel: channelRef, messages: [channelMessage('subscriptionAck')] }
      },
      unsubscribe: {
        action: 'receive',
        channel: channelRef,
        summary: 'A socket leaves a room',
        description: '```js\nsocket.emit(\'unsubscribe\', { room: \'chat_123\' }, (ack) => {})\n```',
        messages: [channelMessage('unsubscribe')],
        reply: { channel: channelRef, messages: [channelMessage('subscriptionAck')] }
      },
      ...echo.operations,
      ...pusher.operations
    },
    components: {
      schemas: {
        ...Object.fromEntries(eventKinds.map((kind) => [kind.payloadName, plain(kind.payload)])),
        SubscribedNotice: plain(SubscribedNotice),
        SubscribeRequest: plain(SubscribeRequest),
        UnsubscribeRequest: plain(UnsubscribeRequest),
        SubscriptionAck: plain(SubscriptionAck),
        ...echo.schemas,
        ...pusher.schemas
      },
      messages: {
        ...eventMessages,
        subscribed: {
          name: 'subscribed',
          title: 'Subscribed',
          summary: 'Sent before the ack of a connection\'s first subscribe; may be ignored',
          payload: { $ref: '#/components/schemas/SubscribedNotice' },
          examples: [{ name: 'subscribed', payload: { room: 'chat_123' } }]
        },
        subscribe: {
          name: 'subscribe',
          title: 'Subscribe',
          summary: 'Join a room; answered through the socket.io acknowledgement',
          payload: { $ref: '#/components/schemas/SubscribeRequest' },
          examples: [{ name: 'subscribe', payload: { room: 'chat_123' } }]
        },
        unsubscribe: {
          name: 'unsubscribe',
          title: 'Unsubscribe',
          summary: 'Leave a room; answered through the socket.io acknowledgement',
          payload: { $ref: '#/components/schemas/UnsubscribeRequest' },
          examples: [{ name: 'unsubscribe', payload: { room: 'chat_123' } }]
        },
        subscriptionAck: {
          name: 'subscriptionAck',
          title: 'Subscription answer',
          summary: 'The acknowledgement of subscribe and unsubscribe',
          payload: { $ref: '#/components/schemas/SubscriptionAck' },
          examples: [
            { name: 'joined', payload: { ok: true, room: 'chat_123' } },
            { name: 'refused', payload: { ok: false, error: { code: 'FORBIDDEN', message: 'the token does not allow this room' } } }
          ]
        },
        ...echo.messages,
        ...pusher.messages
      },
      securitySchemes: {
        socketToken: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'A JWT (HS256, secret `BRIDGE_JWT_SECRET`) that Laravel issues to its user, sent in the ' +
            'socket.io handshake as `io(url, { auth: { token } })`. Claims: `sub` (user id), `exp`, and optionally ' +
            '`rooms` (room names; an entry ending in `*` allows that prefix). A refused connection gets ' +
            '`connect_error` with `err.message === \'unauthorized\'`. Not needed in open development mode.'
        }
      }
    }
  }
}

export function asyncapiYaml (): string {
  return stringify(asyncapiDocument(), { aliasDuplicateObjects: false, lineWidth: 0 })
}
