// Types for TypeScript frontends, from the same schemas the bridge validates with:
// `import type { ServerToClientEvents, ClientToServerEvents } from 'laravel-realtime-bridge/client'`.
import type { MessageBody, ReceivedPayloads } from './schemas/socket.ts'

export type {
  ClientToServerEvents,
  EchoChannelEvent,
  MessageBody,
  ReceivedPayloads,
  ServerToClientEvents,
  SubscribeErrorCode,
  SubscribeRequest,
  SubscriptionAck,
  UnsubscribeRequest,
  WithMessage
} from './schemas/socket.ts'
export type { EventName } from './schemas/events.ts'

export type NewMessageEvent<M extends object = MessageBody> = ReceivedPayloads<M>['new_message']
export type EditMessageEvent<M extends object = MessageBody> = ReceivedPayloads<M>['edit_message']
export type ReplyMessageEvent<M extends object = MessageBody> = ReceivedPayloads<M>['reply_message']
export type DeleteMessageEvent<M extends object = MessageBody> = ReceivedPayloads<M>['delete_message']
export type StatusUpdateEvent = ReceivedPayloads['status_update']

/** A message id as the bridge passes it on: `messageId`, `replyTo`. */
export type MessageRef = StatusUpdateEvent['messageId']
