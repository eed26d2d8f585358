// GET /demo: the page and its content security policy in development, nothing in production.
// test/e2e/browser/demo.test.ts runs the page in Chromium.
import t from 'tap'
import { buildApp, securedEnv } from '../../helpers/bridge.ts'

// The secrets of a production bridge (signing off, as the browser test runs it).
const env = securedEnv({ BRIDGE_API_SIGNING_SECRET: '' })

t.test('GET /demo serves the page in development, with a policy allowing only its own code', async (t) => {
  const fastify = await buildApp(t)
  const response = await fastify.inject({ method: 'GET', url: '/demo' })
  t.equal(response.statusCode, 200)
  t.match(response.headers['content-type'], /^text\/html/)
  t.match(response.body, '<script src="/socket.io/socket.io.js"></script>')
  t.match(response.headers['content-security-policy'], /script-src 'self' 'sha256-[A-Za-z0-9+/=]+'/)
  t.notMatch(response.headers['content-security-policy'], /unsafe-inline/)
})

t.test('GET /demo does not exist in production', async (t) => {
  const fastify = await buildApp(t, { ...env, NODE_ENV: 'production', CORS_ORIGINS: 'https://app.example.com' })
  const response = await fastify.inject({ method: 'GET', url: '/demo' })
  t.equal(response.statusCode, 404)
  t.match(response.json(), { statusCode: 404, error: 'Not Found' })
})
