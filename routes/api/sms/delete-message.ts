// POST /api/sms/delete-message: emits `delete_message` into the body's room.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { deleteMessage } from '../../../src/schemas/events.ts'
import { publishRouteSchema } from '../../../src/schemas/publish-route.ts'

const route: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.post('/delete-message', {
    schema: publishRouteSchema(deleteMessage, 'Publish the deletion of a message')
  }, async (request, reply) => {
    const answer = await fastify.publisher.publishApiEvent(deleteMessage.event, request.body, request.log, request.publisherSignature)
    return reply.code(answer.duplicate === true ? 200 : 202).send(answer)
  })
}

export default route
