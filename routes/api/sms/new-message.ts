// POST /api/sms/new-message: emits `new_message` into the body's room.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { newMessage } from '../../../src/schemas/events.ts'
import { publishRouteSchema } from '../../../src/schemas/publish-route.ts'

const route: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.post('/new-message', {
    schema: publishRouteSchema(newMessage, 'Publish a new message')
  }, async (request, reply) => {
    const answer = await fastify.publisher.publishApiEvent(newMessage.event, request.body, request.log, request.publisherSignature)
    return reply.code(answer.duplicate === true ? 200 : 202).send(answer)
  })
}

export default route
