// GET /ready on a single node: ready as soon as it runs (nothing to wait for without Redis).
import t from 'tap'
import { buildApp } from '../helper.ts'

t.test('GET /ready answers 200 on a single node', async (t) => {
  const fastify = await buildApp(t)
  const response = await fastify.inject({ method: 'GET', url: '/ready' })
  t.equal(response.statusCode, 200)
  t.same(response.json(), { status: 'ready' })
  t.equal(fastify.redis, null, 'no Redis without REDIS_URL')
})
