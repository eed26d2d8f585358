// CORS for the HTTP API, limited to CORS_ORIGINS (any origin only outside production). Listed
// origins may send credentials (cookies): a page of another origin of the same site is the
// app's own; `*` never may, or any site could make a user's browser call with their cookie.
import cors, { type FastifyCorsOptions } from '@fastify/cors'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { originPolicy } from '../../src/http/origins.ts'

const common = {
  methods: ['GET', 'POST'],
  allowedHeaders: ['Authorization', 'Content-Type', 'X-Request-Id', 'X-Bridge-Timestamp', 'X-Bridge-Signature'],
  maxAge: 600
}

/** A page of the bridge's own origin (Swagger UI at /docs) sends Origin on a POST; it needs no CORS. */
function sameOrigin (request: FastifyRequest, origin: string): boolean {
  try {
    return new URL(origin).host === request.headers.host
  } catch {
    return false
  }
}

export const autoConfig = (fastify: FastifyInstance): FastifyCorsOptions => {
  if (fastify.config.corsOrigins === true) return { ...common, origin: true }
  const policy = originPolicy(fastify)
  return {
    delegator (request, callback) {
      const { origin } = request.headers
      const allowed = origin !== undefined && policy.allows(origin)
      if (origin !== undefined && !allowed && !sameOrigin(request, origin)) policy.refused(origin, 'http')
      // Headers only for a listed origin: a refused one gets none, credentials included.
      callback(null, { ...common, origin: allowed, credentials: allowed })
    }
  }
}

export default cors
