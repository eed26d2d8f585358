// Hooks for everything under /api: only publishers with a token (and, when signing is on,
// a valid signature) get past them. Ops endpoints live outside /api and stay open.
import type { FastifyInstance } from 'fastify'

export default async function apiHooks (fastify: FastifyInstance) {
  fastify.addHook('onRequest', fastify.authenticatePublisher)
  if (fastify.config.apiSigningSecret === undefined) return

  // A signature covers the exact bytes sent, so JSON bodies are read as a buffer, kept, then
  // parsed by Fastify's own (poisoning-safe) parser; unsigned setups keep the default parser.
  const { onProtoPoisoning, onConstructorPoisoning } = fastify.initialConfig
  const parseJson = fastify.getDefaultJsonParser(onProtoPoisoning ?? 'error', onConstructorPoisoning ?? 'error')
  fastify.removeContentTypeParser('application/json')
  fastify.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    request.rawBody = body as Buffer
    parseJson(request, body.toString('utf8'), done)
  })
  fastify.addHook('preValidation', fastify.verifyRequestSignature)
}
