// Who may publish: a bearer token from BRIDGE_API_TOKEN and, with BRIDGE_API_SIGNING_SECRET, a
// fresh signature over method, path and query, and raw body. `fastify.requirePublisher(scope)`
// puts both on a scope's routes (routes/api/autohooks.ts).
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { bearerToken, tokenMatcher } from '../../src/auth/bearer-token.ts'
import { signatureMatches, timestampProblem } from '../../src/auth/request-signature.ts'
import { BadSignature, Unauthorized } from '../../src/http/errors.ts'
import { parseJsonBody } from '../../src/http/json-body.ts'

declare module 'fastify' {
  interface FastifyInstance {
    requirePublisher: (scope: FastifyInstance) => void
  }
  interface FastifyRequest {
    /** With signing on: the verified X-Bridge-Signature, which the publisher claims so a replay emits nothing. */
    publisherSignature?: string
  }
}

function header (request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name]
  return Array.isArray(value) ? value[0] : value
}

export default fp(async function publisherAuth (fastify) {
  const { apiTokens, apiSigningSecret } = fastify.config
  const tokenAccepted = apiTokens.length > 0 ? tokenMatcher(apiTokens) : undefined

  if (tokenAccepted === undefined) {
    fastify.log.warn('BRIDGE_API_TOKEN is not set: OPEN MODE, anyone who can reach the bridge may publish. ' +
      'Never run like this where others can reach it (NODE_ENV=production refuses to).')
  }

  /** The bearer token, and with signing the timestamp, before any body is read. */
  async function authenticatePublisher (request: FastifyRequest): Promise<void> {
    if (tokenAccepted !== undefined) {
      const token = bearerToken(request.headers.authorization)
      if (token === undefined) throw new Unauthorized('Authorization: Bearer <token> header is required')
      if (!tokenAccepted(token)) throw new Unauthorized('the bearer token is not valid')
    }
    if (apiSigningSecret !== undefined) {
      const problem = timestampProblem(header(request, 'x-bridge-timestamp'), Math.floor(Date.now() / 1000))
      if (problem !== undefined) throw new BadSignature(problem)
      if (header(request, 'x-bridge-signature') === undefined) {
        throw new BadSignature('X-Bridge-Signature header is required (sha256=<hex HMAC-SHA256 of timestamp, method, path and query, body>)')
      }
    }
  }

  function verifySignature (secret: string, request: FastifyRequest, body: Buffer | string): void {
    const timestamp = header(request, 'x-bridge-timestamp') ?? ''
    const signature = header(request, 'x-bridge-signature') ?? ''
    if (!signatureMatches(secret, { timestamp, method: request.method, url: request.url, body }, signature)) {
      throw new BadSignature('X-Bridge-Signature does not match the timestamp, method, path and query, and body')
    }
    request.publisherSignature = signature.trim().toLowerCase()
  }

  fastify.decorate('requirePublisher', function requirePublisher (scope: FastifyInstance) {
    scope.addHook('onRequest', authenticatePublisher)
    if (apiSigningSecret === undefined) return

    // A signature covers the exact bytes sent: JSON bodies are read as a buffer and checked
    // before the bridge's one JSON reader parses them.
    scope.removeContentTypeParser('application/json')
    scope.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
      let value: unknown
      try {
        verifySignature(apiSigningSecret, request, body)
        value = parseJsonBody(body.toString('utf8'))
      } catch (error) {
        done(error as Error, undefined)
        return
      }
      done(null, value)
    })
    // A request without a body never reaches the parser: its signature covers the empty body.
    scope.addHook('preValidation', async (request) => {
      if (request.body === undefined) verifySignature(apiSigningSecret, request, '')
    })
  })
}, { name: 'publisher-auth' })
