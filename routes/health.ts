// GET /health: liveness; answers while the process runs, overloaded or not.
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'

const route: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/health', {
    config: { loadShedding: false },
    schema: {
      tags: ['ops'],
      summary: 'Liveness',
      description: 'Answers 200 while the process runs.',
      response: { 200: Type.Object({ status: Type.Literal('ok') }) }
    }
  }, async () => ({ status: 'ok' as const }))
}

export default route
