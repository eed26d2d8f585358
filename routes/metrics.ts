// GET /metrics: Prometheus text exposition of `fastify.metrics` (plugins/metrics.ts).
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'

const route: FastifyPluginAsyncTypebox = async (fastify) => {
  const { registry } = fastify.metrics
  fastify.get('/metrics', {
    config: { loadShedding: false },
    schema: {
      tags: ['ops'],
      summary: 'Prometheus metrics',
      description: 'HTTP requests and durations, events published by event name, duplicates, shed requests, ' +
        'socket connections and refusals, subscriptions, subscribe refusals by code, event-loop delay and ' +
        'utilization, and the default Node.js process metrics. Counts are this node\'s.',
      response: {
        200: {
          description: 'Prometheus text format',
          content: { [registry.contentType]: { schema: Type.String() } }
        }
      }
    }
  }, async (_request, reply) => {
    return reply.type(registry.contentType).send(await registry.metrics())
  })
}

export default route
