// Security headers: on every HTTP answer, with a page policy that lets Swagger UI work.
import t from 'tap'
import { buildApp, securedEnv } from '../../../helpers/bridge.ts'

const expected = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'SAMEORIGIN',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin'
}

t.test('JSON answers carry the security headers and a policy that loads nothing', async (t) => {
  const fastify = await buildApp(t, securedEnv())
  const answers = {
    health: await fastify.inject({ method: 'GET', url: '/health' }),
    'a refused publish': await fastify.inject({ method: 'POST', url: '/api/sms/new-message', payload: {} }),
    'an unknown route': await fastify.inject({ method: 'GET', url: '/nowhere' })
  }
  for (const [what, answer] of Object.entries(answers)) {
    t.match(answer.headers, expected, what)
    t.match(answer.headers['content-security-policy'], /default-src 'none'.*frame-ancestors 'none'/, what)
  }
})

t.test('Swagger UI gets a policy that allows its own scripts (and nothing inline) and styles, over plain HTTP too', async (t) => {
  const fastify = await buildApp(t, securedEnv())
  for (const url of ['/docs/', '/docs/static/swagger-initializer.js']) {
    const answer = await fastify.inject({ method: 'GET', url })
    t.equal(answer.statusCode, 200, url)
    t.match(answer.headers, expected, url)
    const policy = String(answer.headers['content-security-policy'])
    t.match(policy, /script-src 'self'/, url)
    t.match(policy, /style-src 'self'/, url)
    t.notMatch(policy, /upgrade-insecure-requests/, url)
    t.notMatch(/script-src[^;]*/.exec(policy)?.[0], /unsafe-inline|unsafe-eval/, `${url}: no inline or eval'd script`)
  }
  // The page loads its scripts from files, which the policy allows: no inline script.
  const page = (await fastify.inject({ method: 'GET', url: '/docs/' })).body
  t.notMatch(page, /<script>(?!\s*<\/script>)/)
})
