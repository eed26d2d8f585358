// GET /ready: 200 while taking traffic, 503 while a check fails or from the start of shutdown.
import t from 'tap'
import { buildApp, captureLogs, startBridge, waitFor } from '../../helpers/bridge.ts'

t.test('answers 200 { status: "ready" } normally', async (t) => {
  const fastify = await buildApp(t)
  const response = await fastify.inject({ method: 'GET', url: '/ready' })
  t.equal(response.statusCode, 200)
  t.same(response.json(), { status: 'ready' })
})

t.test('a failing or throwing check (e.g. Redis unreachable) makes it 503 naming the check', async (t) => {
  const fastify = await buildApp(t)
  let redisUp = true
  fastify.readiness.addCheck('redis', () => redisUp)
  fastify.readiness.addCheck('flaky', async () => { throw new Error('probe failed') })
  redisUp = false
  const response = await fastify.inject({ method: 'GET', url: '/ready' })
  t.equal(response.statusCode, 503)
  t.same(response.json(), {
    statusCode: 503,
    error: 'Service Unavailable',
    message: 'not ready: redis, flaky',
    code: 'BRIDGE_NOT_READY'
  })
  t.equal((await fastify.inject({ method: 'GET', url: '/health' })).statusCode, 200, '/health stays 200')
})

t.test('503 from the start of shutdown, while requests in flight are still answered', async (t) => {
  const logs = captureLogs()
  const { fastify, url } = await startBridge(t, { LOG_LEVEL: 'info' }, { logStream: logs.stream })
  // A check that holds the first /ready request in flight until released.
  let release: (() => void) | undefined
  let held: (() => void) | undefined
  const holding = new Promise<void>((resolve) => { held = resolve })
  fastify.readiness.addCheck('held', () => release !== undefined || new Promise<boolean>((resolve) => {
    release = () => resolve(true)
    held?.()
  }))
  const inFlight = fetch(`${url}/ready`)
  await holding

  const closed = fastify.close()
  // A /ready request is not a publish: the shutdown goes on without waiting for it.
  await waitFor(async () => (await fastify.readiness.problems()).includes('shutting down'), 'the shutdown to start')
  t.same(await fastify.readiness.problems(), ['shutting down'])
  release?.()

  const answer = await inFlight
  t.equal(answer.status, 503, 'the request received before the shutdown is answered')
  t.match(await answer.json(), { message: /^not ready: shutting down/ })
  await closed
})
