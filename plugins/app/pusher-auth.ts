// Who may use the Pusher HTTP API: requests signed as Pusher's server SDKs sign them, with the
// app of BRIDGE_PUSHER_APP_ID, _KEY and _SECRET. `fastify.requirePusherApp(scope)` puts the
// check and Pusher's error shape on every route of a scope (routes/apps/autohooks.ts).
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { bodyProblem, queryParams, signatureProblem } from '../../src/auth/pusher-signature.ts'
import { PusherUnauthorized } from '../../src/http/errors.ts'
import { parseJsonBody } from '../../src/http/json-body.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** Requires a request signed by the configured Pusher app on every route registered in `scope`. */
    requirePusherApp: (scope: FastifyInstance) => void
  }
}

function pathOf (request: FastifyRequest): string {
  const end = request.url.indexOf('?')
  return end === -1 ? request.url : request.url.slice(0, end)
}

export default fp(async function pusherAuth (fastify) {
  fastify.decorate('requirePusherApp', function requirePusherApp (scope: FastifyInstance) {
    const app = fastify.config.pusher
    if (app === undefined) throw new Error('requirePusherApp: no Pusher app is configured (BRIDGE_PUSHER_APP_ID, _KEY, _SECRET)')

    scope.addHook('onRoute', (route) => {
      route.config = { ...route.config, errorShape: 'pusher' }
    })

    /** onRequest: app id, key, timestamp and the signature over method, path and query, before any body is read. */
    scope.addHook('onRequest', async (request) => {
      const { app_id: appId } = request.params as { app_id?: string }
      if (appId !== app.appId) throw new PusherUnauthorized('Unknown app id: it is not BRIDGE_PUSHER_APP_ID')
      const params = queryParams(request.url)
      if (typeof params === 'string') throw new PusherUnauthorized(params)
      const problem = signatureProblem(app, { method: request.method, path: pathOf(request), params }, Math.floor(Date.now() / 1000))
      if (problem !== undefined) throw new PusherUnauthorized(problem)
    })

    // body_md5 covers the exact bytes sent: JSON bodies are read as a buffer, checked, then
    // parsed by the bridge's one JSON reader.
    scope.removeContentTypeParser('application/json')
    scope.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
      // An empty body has nothing to hash: the JSON parser answers 400 for it.
      if (body.length > 0) {
        const params = queryParams(request.url)
        const problem = typeof params === 'string' ? params : bodyProblem(params, body)
        if (problem !== undefined) {
          done(new PusherUnauthorized(problem), undefined)
          return
        }
      }
      let value: unknown
      try {
        value = parseJsonBody(body.toString('utf8'))
      } catch (error) {
        done(error as Error, undefined)
        return
      }
      done(null, value)
    })
  })
}, { name: 'pusher-auth' })
