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

t.test('listed origins may send credentials, on the HTTP API and socket.io\'s polling; `*` and refused origins never', async (t) => {
  const fastify = await buildApp(t, securedEnv({ CORS_ORIGINS: 'http://app.example.test:8080' }))
  const listed = await fastify.inject(preflight('http://app.example.test:8080'))
  t.equal(listed.headers['access-control-allow-origin'], 'http://app.example.test:8080', 'the exact origin, never *')
  t.equal(listed.headers['access-control-allow-credentials'], 'true')
  const other = await fastify.inject(preflight('http://evil.example.test:8080'))
  t.equal(other.headers['access-control-allow-credentials'], undefined)
  t.equal(other.headers['access-control-allow-origin'], undefined)

  // Echo's first request: the Engine.IO polling handshake, with the page's cookie.
  const handshake = await fastify.inject({ method: 'GET', url: '/socket.io/?EIO=4&transport=polling', headers: { origin: 'http://app.example.test:8080', cookie: 'laravel_session=x' } })
  t.equal(handshake.headers['access-control-allow-origin'], 'http://app.example.test:8080')
  t.equal(handshake.headers['access-control-allow-credentials'], 'true')

  const any = await buildApp(t, { NODE_ENV: 'development' })
  const anyAnswer = await any.inject(preflight('http://localhost:5173'))
  t.equal(anyAnswer.headers['access-control-allow-credentials'], undefined, 'any origin (*) never with credentials')
  const anyHandshake = await any.inject({ method: 'GET', url: '/socket.io/?EIO=4&transport=polling', headers: { origin: 'http://localhost:5173' } })
  t.equal(anyHandshake.headers['access-control-allow-credentials'], undefined)
})

t.test('a refused origin is named in a warning once a minute, whichever path it tried', async (t) => {
  const logs = captureLogs()
  const fastify = await buildApp(t, securedEnv({ CORS_ORIGINS: 'https://app.example.com', LOG_LEVEL: 'info' }), { logStream: logs.stream })
  await fastify.inject(preflight('https://app.example.org'))
  await fastify.inject(preflight('https://app.example.org'))
  await fastify.inject({ method: 'GET', url: '/socket.io/?EIO=4&transport=polling', headers: { origin: 'https://app.example.org' } })
  // The bridge's own pages (Swagger UI) send their Origin on a POST: not a refusal.
  await fastify.inject({ method: 'POST', url: '/api/sms/new-message', headers: { origin: 'http://bridge.local', host: 'bridge.local', 'content-type': 'application/json' }, payload: '{}' })
  const refusals = logs.lines.filter((line) => String(line.msg).startsWith('browser origin refused'))
  t.same(refusals.map(({ level, msg, origin, path, allowed }) => ({ level, msg, origin, path, allowed })), [{
    level: 40,
    msg: 'browser origin refused: https://app.example.org is not in CORS_ORIGINS; add it there (scheme://host[:port], as the browser\'s address bar shows it)',
    origin: 'https://app.example.org',
    path: 'http',
    allowed: ['https://app.example.com']
  }])
})
