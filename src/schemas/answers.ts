// Answers of the HTTP API: the publish answers and Fastify's error shape.
import { STATUS_CODES } from 'node:http'
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
  statusCode: Type.Integer(),
  error: Type.String(),
  message: Type.String(),
  code: Type.Optional(Type.String())
}, { title: 'Error' })

/** An error answer with its own example, so each status shows what it looks like. */
export function errorResponse (statusCode: number, description: string, message: string, code?: string) {
  const example = { statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message, ...(code === undefined ? {} : { code }) }
  return { ...ErrorAnswer, description, examples: [example] }
}

/** Error answers every publish route may give. */
export const publishErrors = {
  400: errorResponse(400, 'Invalid body or malformed JSON; the message names the field', 'body/room is required', 'FST_ERR_VALIDATION'),
  401: errorResponse(401, 'Missing or wrong bearer token, or (with request signing) a missing, stale or wrong signature', 'Authorization: Bearer <token> header is required', 'BRIDGE_UNAUTHORIZED'),
  413: errorResponse(413, 'Body larger than BRIDGE_BODY_LIMIT', 'Request body is too large', 'FST_ERR_CTP_BODY_TOO_LARGE'),
  415: errorResponse(415, 'Content-Type is not application/json', 'Content-Type must be application/json', 'FST_ERR_CTP_INVALID_MEDIA_TYPE'),
  503: errorResponse(503, 'Overloaded (a load-shedding threshold is exceeded), shutting down, the memory kept for de-duplication claims is full ' +
    '(`BRIDGE_CLAIMS_FULL`: BRIDGE_IDEMPOTENCY_MAX_ENTRIES claims within their windows; Retry-After says when the oldest expires), ' +
    'in cluster mode Redis is unreachable, or (on a Redis Cluster, `BRIDGE_PUBLISH_PENDING`) the same uuid or signature is being published by another request, ' +
    'the node publishing it died, or Redis has not yet answered whether it stored its event (Retry-After says when its claim expires at the latest; ' +
    'a claim whose event Redis has not answered for is renewed until it does); nothing was published, retry after the Retry-After header\'s seconds', 'The bridge is overloaded; retry in 5 seconds', 'FST_UNDER_PRESSURE')
}
