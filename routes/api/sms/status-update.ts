// POST /api/sms/status-update: emits `status_update` into the body's room.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { statusUpdate } from '../../../src/schemas/events.ts'
import { publishRouteSchema } from '../../../src/schemas/publish-route.ts'

const route: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.post('/status-update', {
    schema: publishRouteSchema(statusUpdate, 'Publish a message status change (sent, delivered, read)')
  }, async (request, reply) => {
    const answer = await fastify.publisher.publishApiEvent(statusUpdate.event, request.body, request.log, request.publisherSignature)
    return reply.code(answer.duplicate === true ? 200 : 202).send(answer)
  })
}

export default route
