// Field types shared by every event kind, as the README's HTTP API section lists them.
import { Type } from 'typebox'
import { MAX_DEPTH_KEYWORD, MAX_JSON_DEPTH } from './json-depth.ts'

const ROOM_PATTERN = '^[A-Za-z0-9_\\-.:@]{1,128}$'

export const Room = Type.String({
  minLength: 1,
  maxLength: 128,
  pattern: ROOM_PATTERN,
  description: 'Room name: 1-128 characters of A-Z a-z 0-9 _ - . : @',
  examples: ['chat_123']
})

export const Message = Type.Object({}, {
  additionalProperties: true,
  [MAX_DEPTH_KEYWORD]: MAX_JSON_DEPTH,
  description: `The message itself, free-form JSON (id, text, from, timestamp, reply_to, ...), nested at most ${MAX_JSON_DEPTH} levels deep`,
  examples: [{ id: 1, text: 'Привет!', from: 42, timestamp: '2026-11-24T10:00:00Z' }]
})

export const MessageRef = Type.Union([
  Type.String({ minLength: 1, maxLength: 128 }),
  Type.Integer({ minimum: 0 })
], { description: 'A message id: a string of 1-128 characters or a non-negative integer' })

export const Status = Type.String({
  minLength: 1,
  maxLength: 64,
  description: 'Delivery status, e.g. sent, delivered, read',
  examples: ['read']
})

export const Uuid = Type.String({
  minLength: 1,
  maxLength: 128,
  description: 'The request id, for tracking and de-duplication; generated (UUID v4) when absent',
  examples: ['msg-1']
})

export const CHANNEL_PATTERN = '^[A-Za-z0-9_\\-=@,.;:]{1,164}$'

export const Channel = Type.String({
  minLength: 1,
  maxLength: 164,
  pattern: CHANNEL_PATTERN,
  description: 'Channel name (Laravel Broadcasting): 1-164 characters of A-Z a-z 0-9 _ - = @ , . ; : ' +
    '(`private-…` and `presence-…` need authorization, any other name is public)',
  examples: ['orders.1']
})
