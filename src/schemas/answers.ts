// Answers of the HTTP API: the publish answers and Fastify's error shape.
import { Type, type Static } from 'typebox'
import { Room, Uuid } from './fields.ts'

export const PublishAnswer = Type.Object({
  ok: Type.Literal(true),
  event: Type.String({ description: 'The socket.io event that was emitted', examples: ['new_message'] }),
  room: Room,
  uuid: Uuid,
  duplicate: Type.Optional(Type.Literal(true, {
    description: 'Present when this uuid was already accepted within the de-duplication window; nothing was emitted again'
  }))
}, { title: 'PublishAnswer' })

export type PublishAnswer = Static<typeof PublishAnswer>

export const BatchAnswer = Type.Object({
  ok: Type.Literal(true),
  results: Type.Array(PublishAnswer, { description: 'One answer per item, in order' })
}, { title: 'BatchAnswer' })

export const ErrorAnswer = Type.Object({
  statusCode: Type.Integer({ examples: [400] }),
  error: Type.String({ examples: ['Bad Request'] }),
  message: Type.String({ examples: ['body must have required property \'room\''] }),
  code: Type.Optional(Type.String({ examples: ['FST_ERR_VALIDATION'] }))
}, { title: 'Error' })

/** Error answers every publish route may give. */
export const publishErrors = {
  400: { ...ErrorAnswer, description: 'Invalid body or malformed JSON; the message names the field' },
  401: { ...ErrorAnswer, description: 'Missing or wrong bearer token, or (with request signing) a missing, stale or wrong signature' },
  413: { ...ErrorAnswer, description: 'Body larger than BRIDGE_BODY_LIMIT' },
  415: { ...ErrorAnswer, description: 'Content-Type is not application/json' }
}
