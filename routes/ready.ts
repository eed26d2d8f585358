// GET /ready: readiness for load balancers; 503 while shutting down or a dependency is down.
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { errorResponse } from '../src/schemas/answers.ts'

const route: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/ready', {
    // Overload is not unreadiness: taking every busy node out of the pool makes it worse.
    config: { loadShedding: false },
    schema: {
      tags: ['ops'],
      summary: 'Readiness',
      description: 'Answers 200 while the bridge takes traffic; 503 from the start of a shutdown on, ' +
        'or while a dependency it needs is unreachable (Redis in cluster mode). ' +
        'Stays 200 while overloaded: publishes are shed with 503 then, but the node is not taken out of the pool.',
      response: {
        200: Type.Object({ status: Type.Literal('ready') }),
        503: errorResponse(503, 'Not ready; the message says why', 'not ready: Redis unreachable (cluster mode)', 'BRIDGE_NOT_READY')
      }
    }
  }, async (_request, reply) => {
    const problems = await fastify.readiness.problems()
    if (problems.length === 0) return { status: 'ready' as const }
    return reply.code(503).send({
      statusCode: 503,
      error: 'Service Unavailable',
      message: `not ready: ${problems.join(', ')}`,
      code: 'BRIDGE_NOT_READY'
    })
  })
}

export default route
