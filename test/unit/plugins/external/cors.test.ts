// Browsers may call the HTTP API only from CORS_ORIGINS (any origin only in development).
import t from 'tap'
import { buildApp, captureLogs, securedEnv } from '../../../helpers/bridge.ts'

function preflight (origin: string) {
  return {
    method: 'OPTIONS' as const,
    url: '/api/sms/new-message',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' }
  }
}

t.test('a listed origin is allowed, any other is not', async (t) => {
  const fastify = await buildApp(t, securedEnv({ CORS_ORIGINS: 'https://app.example.com,https://admin.example.com' }))
  const listed = await fastify.inject(preflight('https://admin.example.com'))
  t.equal(listed.headers['access-control-allow-origin'], 'https://admin.example.com')
  t.match(listed.headers['access-control-allow-headers'], /Authorization/)
  const other = await fastify.inject(preflight('https://evil.example.com'))
  t.equal(other.headers['access-control-allow-origin'], undefined)
})

t.test('production without CORS_ORIGINS allows no browser origin', async (t) => {
  const fastify = await buildApp(t, securedEnv({ NODE_ENV: 'production' }))
  const answer = await fastify.inject(preflight('https://app.example.com'))
  t.equal(answer.headers['access-control-allow-origin'], undefined)
})

t.test('production without CORS_ORIGINS logs one clear warning at start', async (t) => {
  const logs = captureLogs()
  await buildApp(t, securedEnv({ NODE_ENV: 'production', LOG_LEVEL: 'info' }), { logStream: logs.stream })
  const warnings = logs.lines.filter((line) => line.level === 40 && /CORS_ORIGINS/.test(String(line.msg)))
  t.equal(warnings.length, 1, 'one warning')
  t.match(warnings[0]?.msg, /CORS_ORIGINS is not set: browsers are refused/)

  const configured = captureLogs()
  await buildApp(t, securedEnv({ NODE_ENV: 'production', LOG_LEVEL: 'info', CORS_ORIGINS: 'https://app.example.com' }), { logStream: configured.stream })
  t.same(configured.lines.filter((line) => /CORS_ORIGINS/.test(String(line.msg))), [], 'no warning with CORS_ORIGINS set')
})

t.test('development allows any origin', async (t) => {
  const fastify = await buildApp(t, { NODE_ENV: 'development' })
  const answer = await fastify.inject(preflight('http://localhost:5173'))
  t.ok(answer.headers['access-control-allow-origin'], 'an allow-origin header')
})
