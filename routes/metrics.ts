// GET /metrics: Prometheus text exposition of `fastify.metrics` (plugins/app/metrics.ts); with
// BRIDGE_METRICS_TOKEN set, only for a scraper that presents it as a bearer token.
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { bearerToken, tokenMatcher } from '../src/auth/bearer-token.ts'
import { Unauthorized } from '../src/http/errors.ts'
import { errorResponse } from '../src/schemas/answers.ts'

const route: FastifyPluginAsyncTypebox = async (fastify) => {
  const { registry } = fastify.metrics
  const { metricsToken } = fastify.config
  const tokenAccepted = metricsToken === undefined ? undefined : tokenMatcher([metricsToken])
  fastify.get('/metrics', {
    config: { loadShedding: false },
    onRequest: async (request) => {
      if (tokenAccepted === undefined) return
      const token = bearerToken(request.headers.authorization)
      if (token === undefined || !tokenAccepted(token)) throw new Unauthorized('/metrics requires Authorization: Bearer <BRIDGE_METRICS_TOKEN>')
    },
    schema: {
      tags: ['ops'],
      summary: 'Prometheus metrics',
      description: 'HTTP requests and durations, events published by event name, duplicates, shed requests, ' +
        'socket connections and refusals, subscriptions, subscribe refusals by code, event-loop delay and ' +
        'utilization, and the default Node.js process metrics. Counts are this node\'s. ' +
        'With `BRIDGE_METRICS_TOKEN` set, it requires `Authorization: Bearer <that token>` (401 otherwise).',
      response: {
        200: {
          description: 'Prometheus text format',
          content: { [registry.contentType]: { schema: Type.String() } }
        },
        401: errorResponse(401, 'BRIDGE_METRICS_TOKEN is set and the request does not carry it', '/metrics requires Authorization: Bearer <BRIDGE_METRICS_TOKEN>', 'BRIDGE_UNAUTHORIZED')
      }
    }
  }, async (_request, reply) => {
    return reply.type(registry.contentType).send(await registry.metrics())
  })
}

export default route
