// POST /api/sms/reply-message: emits `reply_message` into the body's room.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { replyMessage } from '../../../src/schemas/events.ts'
import { publishRouteSchema } from '../../../src/schemas/publish-route.ts'

const route: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.post('/reply-message', {
    schema: publishRouteSchema(replyMessage, 'Publish a reply to a message')
  }, async (request, reply) => {
    const answer = await fastify.publisher.publishApiEvent(replyMessage.event, request.body, request.log, request.publisherSignature)
    return reply.code(answer.duplicate === true ? 200 : 202).send(answer)
  })
}

export default route
