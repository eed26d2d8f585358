// Who may publish: a bearer token from BRIDGE_API_TOKEN and, when BRIDGE_API_SIGNING_SECRET
// is set, a fresh signature over the raw body. routes/api/autohooks.ts applies them to /api.
import createError from '@fastify/error'
import fp from 'fastify-plugin'
import type { FastifyRequest } from 'fastify'
import { bearerToken, tokenMatcher } from '../src/auth/bearer-token.ts'
import { signatureMatches, timestampProblem } from '../src/auth/request-signature.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** onRequest hook: the bearer token, and with signing the timestamp, before any body is read. */
    authenticatePublisher: (request: FastifyRequest) => Promise<void>
    /** With signing on: throws a 401 unless the signature matches these exact body bytes. */
    verifyRequestSignature: (request: FastifyRequest, rawBody: Buffer | string) => void
  }
}

const Unauthorized = createError('BRIDGE_UNAUTHORIZED', '%s', 401)
const BadSignature = createError('BRIDGE_BAD_SIGNATURE', '%s', 401)

/** Throws a 401; the app's error handler sends `error.headers` along. */
function refuse (error: Error): never {
  throw Object.assign(error, { headers: { 'www-authenticate': 'Bearer' } })
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

  fastify.decorate('authenticatePublisher', async function authenticatePublisher (request: FastifyRequest) {
    if (tokenAccepted !== undefined) {
      const token = bearerToken(request.headers.authorization)
      if (token === undefined) refuse(new Unauthorized('Authorization: Bearer <token> header is required'))
      if (!tokenAccepted(token)) refuse(new Unauthorized('the bearer token is not valid'))
    }
    if (apiSigningSecret !== undefined) {
      const problem = timestampProblem(header(request, 'x-bridge-timestamp'), Math.floor(Date.now() / 1000))
      if (problem !== undefined) refuse(new BadSignature(problem))
      if (header(request, 'x-bridge-signature') === undefined) {
        refuse(new BadSignature('X-Bridge-Signature header is required (sha256=<hex HMAC-SHA256 of timestamp + "." + body>)'))
      }
    }
  })

  fastify.decorate('verifyRequestSignature', function verifyRequestSignature (request: FastifyRequest, rawBody: Buffer | string) {
    if (apiSigningSecret === undefined) return
    // authenticatePublisher has already checked that both headers are there.
    const timestamp = header(request, 'x-bridge-timestamp') ?? ''
    const signature = header(request, 'x-bridge-signature') ?? ''
    if (!signatureMatches(apiSigningSecret, timestamp, rawBody, signature)) {
      refuse(new BadSignature('X-Bridge-Signature does not match the body and timestamp'))
    }
  })
}, { name: 'publisher-auth' })
