// Who may publish: a bearer token from BRIDGE_API_TOKEN and, when BRIDGE_API_SIGNING_SECRET
// is set, a fresh signature over the raw body. The hooks are added for /api in routes/api/autohooks.ts.
import createError from '@fastify/error'
import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { bearerToken, tokenMatcher } from '../src/auth/bearer-token.ts'
import { signatureMatches, timestampProblem } from '../src/auth/request-signature.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** onRequest hook: the bearer token, and with signing the timestamp, before any body is read. */
    authenticatePublisher: (request: FastifyRequest, reply: FastifyReply) => Promise<void>
    /** preValidation hook (with signing only): the signature over the raw body. */
    verifyRequestSignature: (request: FastifyRequest, reply: FastifyReply) => Promise<void>
  }
  interface FastifyRequest {
    /** The exact bytes of a JSON body, kept only while signing is on. */
    rawBody?: Buffer
  }
}

const Unauthorized = createError('BRIDGE_UNAUTHORIZED', '%s', 401)
const BadSignature = createError('BRIDGE_BAD_SIGNATURE', '%s', 401)

function refuse (reply: FastifyReply, error: Error): never {
  reply.header('www-authenticate', 'Bearer')
  throw error
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

  fastify.decorateRequest('rawBody', undefined)

  fastify.decorate('authenticatePublisher', async function authenticatePublisher (request: FastifyRequest, reply: FastifyReply) {
    if (tokenAccepted !== undefined) {
      const token = bearerToken(request.headers.authorization)
      if (token === undefined) refuse(reply, new Unauthorized('Authorization: Bearer <token> header is required'))
      if (!tokenAccepted(token)) refuse(reply, new Unauthorized('the bearer token is not valid'))
    }
    if (apiSigningSecret !== undefined) {
      const problem = timestampProblem(header(request, 'x-bridge-timestamp'), Math.floor(Date.now() / 1000))
      if (problem !== undefined) refuse(reply, new BadSignature(problem))
      if (header(request, 'x-bridge-signature') === undefined) {
        refuse(reply, new BadSignature('X-Bridge-Signature header is required (sha256=<hex HMAC-SHA256 of timestamp + "." + body>)'))
      }
    }
  })

  fastify.decorate('verifyRequestSignature', async function verifyRequestSignature (request: FastifyRequest, reply: FastifyReply) {
    if (apiSigningSecret === undefined) return
    // authenticatePublisher has already checked that both headers are there.
    const timestamp = header(request, 'x-bridge-timestamp') ?? ''
    const signature = header(request, 'x-bridge-signature') ?? ''
    if (!signatureMatches(apiSigningSecret, timestamp, request.rawBody ?? '', signature)) {
      refuse(reply, new BadSignature('X-Bridge-Signature does not match the body and timestamp'))
    }
  })
}, { name: 'publisher-auth' })
