// GET /ready: readiness for load balancers; 503 while cluster mode cannot reach Redis.
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ErrorAnswer } from '../src/schemas/answers.ts'

const route: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/ready', {
    schema: {
      tags: ['ops'],
      summary: 'Readiness',
      description: 'Answers 200 when the bridge accepts traffic; 503 while Redis is unreachable in cluster mode.',
      response: {
        200: Type.Object({ status: Type.Literal('ready') }),
        503: { ...ErrorAnswer, description: 'Not ready' }
      }
    }
  }, async (_request, reply) => {
    if (!fastify.redisReady()) {
      return reply.code(503).send({ statusCode: 503, error: 'Service Unavailable', message: 'Redis is unreachable (cluster mode)' })
    }
    return { status: 'ready' as const }
  })
}

export default route
