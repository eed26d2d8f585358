// POST /api/sms/edit-message: emits `edit_message` into the body's room.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { editMessage } from '../../../src/schemas/events.ts'
import { publishRouteSchema } from '../../../src/schemas/publish-route.ts'

const route: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.post('/edit-message', {
    schema: publishRouteSchema(editMessage, 'Publish an edited message')
  }, async (request, reply) => {
    const answer = await fastify.publisher.publishApiEvent(editMessage.event, request.body, request.log, request.publisherSignature)
    return reply.code(answer.duplicate === true ? 200 : 202).send(answer)
  })
}

export default route
