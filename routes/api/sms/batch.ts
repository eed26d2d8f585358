// POST /api/sms/batch: up to 100 events of any kinds, validated together, delivered all or nothing, in order.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { BatchAnswer, publishErrors } from '../../../src/schemas/answers.ts'
import { BatchRequest, eventByKind, type EventName, type PublishBody } from '../../../src/schemas/events.ts'

const route: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.post('/batch', {
    schema: {
      tags: ['publish'],
      summary: 'Publish several events at once',
      description: 'Each item is `{ "type": "<kind>", ...fields of that kind }`, where kind is one of ' +
        '`new-message`, `edit-message`, `reply-message`, `delete-message`, `status-update`. ' +
        'The whole batch is validated before anything is emitted (400 if any item is invalid), and it is ' +
        'delivered all or nothing; each item is emitted in order as its own socket.io event (e.g. `new-message` → `new_message`), ' +
        'with the item minus its `type` as payload. An item whose `uuid` was already accepted is answered ' +
        'with `duplicate: true` and not emitted again.',
      operationId: 'publishBatch',
      body: BatchRequest,
      response: {
        202: { ...BatchAnswer, description: 'Accepted: one answer per item, in order' },
        ...publishErrors
      }
    }
  }, async (request, reply) => {
    const items = request.body.events.map(({ type, ...fields }) => ({ event: eventByKind[type], body: fields as PublishBody<EventName> }))
    const results = await fastify.publisher.publishApiEvents(items, request.log, request.publisherSignature)
    return reply.code(202).send({ ok: true, results })
  })
}

export default route
