import t from 'tap'
import { buildApp } from '../../helpers/bridge.ts'

t.test('GET /health answers 200 while the process runs', async (t) => {
  const fastify = await buildApp(t)
  const response = await fastify.inject({ method: 'GET', url: '/health' })
  t.equal(response.statusCode, 200)
  t.same(response.json(), { status: 'ok' })
})
