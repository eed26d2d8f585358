// The event kinds: one definition per kind gives the publish body, the batch item and the
// socket.io payload frontends receive, as schemas and as TypeScript types.
import { Type, type Static, type TProperties } from 'typebox'
import { Message, MessageRef, Room, Status, Uuid } from './fields.ts'

function defineEvent<const Kind extends string, const Name extends string, Fields extends TProperties> (
  kind: Kind,
  event: Name,
  title: string,
  fields: Fields,
  /** Swagger UI's example body: no `uuid`, so pressing Execute twice publishes twice. */
  example: Record<string, unknown>
) {
  return {
    /** URL segment and batch `type`, e.g. `new-message`. */
    kind,
    /** socket.io event name, e.g. `new_message`. */
    event,
    /** Name of the payload schema in the OpenAPI and AsyncAPI documents. */
    payloadName: `${title}Event`,
    body: Type.Object({ ...fields, uuid: Type.Optional(Uuid) }, {
      additionalProperties: false,
      title: `${title}Request`,
      examples: [example]
    }),
    batchItem: Type.Object({ type: Type.Literal(kind), ...fields, uuid: Type.Optional(Uuid) }, {
      additionalProperties: false,
      title: `${title}BatchItem`
    }),
    payload: Type.Object({ ...fields, uuid: Uuid }, {
      additionalProperties: false,
      title: `${title}Event`,
      description: `Payload of the socket.io event \`${event}\``
    })
  }
}

export const newMessage = defineEvent('new-message', 'new_message', 'NewMessage', {
  room: Room,
  message: Message
}, { room: 'chat_123', message: { id: 1, text: 'Привет!', from: 42 } })

export const editMessage = defineEvent('edit-message', 'edit_message', 'EditMessage', {
  room: Room,
  message: Message,
  messageId: MessageRef
}, { room: 'chat_123', messageId: 1, message: { id: 1, text: 'Привет всем!', from: 42 } })

export const replyMessage = defineEvent('reply-message', 'reply_message', 'ReplyMessage', {
  room: Room,
  message: Message,
  replyTo: MessageRef
}, { room: 'chat_123', replyTo: 1, message: { id: 2, text: 'И тебе привет', from: 7 } })

export const deleteMessage = defineEvent('delete-message', 'delete_message', 'DeleteMessage', {
  room: Room,
  messageId: MessageRef,
  message: Type.Optional(Message)
}, { room: 'chat_123', messageId: 1 })

export const statusUpdate = defineEvent('status-update', 'status_update', 'StatusUpdate', {
  room: Room,
  messageId: MessageRef,
  status: Status
}, { room: 'chat_123', messageId: 1, status: 'read' })

export const eventKinds = [newMessage, editMessage, replyMessage, deleteMessage, statusUpdate] as const

export type EventKind = (typeof eventKinds)[number]
export type EventName = EventKind['event']
export type KindName = EventKind['kind']

export type NewMessageEvent = Static<typeof newMessage.payload>
export type EditMessageEvent = Static<typeof editMessage.payload>
export type ReplyMessageEvent = Static<typeof replyMessage.payload>
export type DeleteMessageEvent = Static<typeof deleteMessage.payload>
export type StatusUpdateEvent = Static<typeof statusUpdate.payload>

/** What frontends receive, by socket.io event name. */
export interface EventPayloads {
  new_message: NewMessageEvent
  edit_message: EditMessageEvent
  reply_message: ReplyMessageEvent
  delete_message: DeleteMessageEvent
  status_update: StatusUpdateEvent
}

/** The request body of a publish route for an event: the payload with `uuid` optional. */
export type PublishBody<E extends EventName> = Omit<EventPayloads[E], 'uuid'> & { uuid?: string }

export const eventByKind = Object.fromEntries(eventKinds.map((kind) => [kind.kind, kind.event])) as
  Record<KindName, EventName>

const AnyBatchItem = Type.Union([
  newMessage.batchItem,
  editMessage.batchItem,
  replyMessage.batchItem,
  deleteMessage.batchItem,
  statusUpdate.batchItem
])

// `oneOf` with a discriminator (rather than TypeBox's `anyOf`): the validator checks an item
// against the branch its `type` names, so an error names the field of that kind.
const BatchItemSchema = Type.Unsafe<Static<typeof AnyBatchItem>>({
  type: 'object',
  required: ['type'],
  discriminator: { propertyName: 'type' },
  oneOf: AnyBatchItem.anyOf,
  title: 'BatchItem'
})

export const BatchRequest = Type.Object({
  events: Type.Array(BatchItemSchema, {
    minItems: 1,
    maxItems: 100,
    description: 'The events to publish, in order: each item is `{ "type": "<kind>", ...fields of that kind }`'
  })
}, {
  additionalProperties: false,
  title: 'BatchRequest',
  examples: [{
    events: [
      { type: 'new-message', room: 'chat_123', message: { id: 3, text: 'Hello', from: 42 } },
      { type: 'status-update', room: 'chat_123', messageId: 1, status: 'read' }
    ]
  }]
})

export type BatchItem = Static<typeof BatchRequest>['events'][number]
