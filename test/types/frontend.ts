// Type-level test of `laravel-realtime-bridge/client`, written as a frontend would use it.
// `npm run typecheck` checks it against the sources; test/client-types.test.ts compiles it as a
// separate project against the built declarations. Each `@ts-expect-error` must be an error.
import { io, type Socket } from 'socket.io-client'
import type {
  ClientToServerEvents,
  DeleteMessageEvent,
  EditMessageEvent,
  MessageBody,
  MessageRef,
  NewMessageEvent,
  ReplyMessageEvent,
  ServerToClientEvents,
  StatusUpdateEvent,
  SubscribeErrorCode
} from 'laravel-realtime-bridge/client'

/** True only when A and B are the same type (not merely assignable, and never `any`). */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false

function expectType<A, B> (same: Equal<A, B>): boolean {
  return same
}

interface ChatMessage {
  id: number
  text: string
  from: number
}

type BridgeSocket<M extends object = MessageBody> = Socket<ServerToClientEvents<M>, ClientToServerEvents>

export function connect (url: string, token: string): BridgeSocket<ChatMessage> {
  return io(url, { auth: { token } })
}

export function handlers (socket: BridgeSocket) {
  socket.on('new_message', (data) => {
    expectType<typeof data, { room: string, message: MessageBody, uuid: string }>(true)
    expectType<typeof data, NewMessageEvent>(true)
  })
  socket.on('edit_message', (data) => {
    expectType<typeof data, { room: string, message: MessageBody, messageId: string | number, uuid: string }>(true)
    expectType<typeof data, EditMessageEvent>(true)
  })
  socket.on('reply_message', (data) => {
    expectType<typeof data.replyTo, MessageRef>(true)
    expectType<typeof data, ReplyMessageEvent>(true)
  })
  socket.on('delete_message', (data) => {
    expectType<typeof data.message, MessageBody | undefined>(true)
    expectType<typeof data, DeleteMessageEvent>(true)
  })
  socket.on('status_update', (data) => {
    expectType<typeof data, { room: string, messageId: string | number, status: string, uuid: string }>(true)
    expectType<typeof data, StatusUpdateEvent>(true)
  })

  // @ts-expect-error there is no event `new_mesage`
  socket.on('new_mesage', () => {})
  // @ts-expect-error a new_message has no messageId
  socket.on('new_message', ({ messageId }) => messageId)
  // @ts-expect-error status is a string, not a number
  socket.on('status_update', (data: { status: number }) => data)

  socket.emit('subscribe', { room: 'chat_123' }, (ack) => {
    if (ack.ok) expectType<typeof ack.room, string>(true)
    else expectType<typeof ack.error.code, SubscribeErrorCode>(true)
  })
  socket.emit('subscribe', { room: 'chat_123', token: 'per-room JWT' }, () => {})
  socket.emit('unsubscribe', { room: 'chat_123' }, () => {})
  // @ts-expect-error room is required
  socket.emit('subscribe', {}, () => {})
  // @ts-expect-error room is a string
  socket.emit('unsubscribe', { room: 123 }, () => {})
  // @ts-expect-error frontends do not publish: new_message is not a client event
  socket.emit('new_message', { room: 'chat_123', message: {} })

  // Laravel Echo's calls, on the same connection: no ack (refusals come as subscription_error).
  socket.emit('subscribe', { channel: 'private-chat.1', auth: { headers: { Authorization: 'Bearer t' } } })
  socket.emit('unsubscribe', { channel: 'private-chat.1' })
  socket.emit('client event', { channel: 'private-chat.1', event: 'client-typing', data: { typing: true } })
  // @ts-expect-error Echo's subscribe has no ack
  socket.emit('subscribe', { channel: 'private-chat.1' }, () => {})
  socket.on('subscription_error', (channel, status) => {
    expectType<[typeof channel, typeof status], [string, number]>(true)
  })
}

export function ownMessageShape (socket: BridgeSocket<ChatMessage>) {
  socket.on('new_message', ({ message }) => {
    expectType<typeof message.text, string>(true)
  })
  socket.on('delete_message', ({ message }) => {
    expectType<typeof message, ChatMessage | undefined>(true)
  })
  socket.on('status_update', (data) => {
    expectType<typeof data, StatusUpdateEvent>(true)
  })
  // @ts-expect-error ChatMessage has no `body`
  socket.on('edit_message', ({ message }) => message.body)
}

export const received: NewMessageEvent<ChatMessage> = {
  room: 'chat_123',
  uuid: 'msg-1',
  message: { id: 1, text: 'Привет!', from: 42 }
}

// @ts-expect-error what frontends receive always has its uuid
export const withoutUuid: NewMessageEvent = { room: 'chat_123', message: {} }
