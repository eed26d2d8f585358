// Hooks for everything under /api: only publishers with a token (and, when signing is on,
// a valid signature) get past them. Ops endpoints live outside /api and stay open.
import type { FastifyInstance } from 'fastify'

export default async function apiHooks (fastify: FastifyInstance) {
  fastify.addHook('onRequest', fastify.authenticatePublisher)
  if (fastify.config.apiSigningSecret === undefined) return

  // A signature covers the exact bytes sent, so JSON bodies are read as a buffer, checked
  // before anything parses them, then parsed by Fastify's own (poisoning-safe) parser.
  // Unsigned setups keep the default parser.
  const { onProtoPoisoning, onConstructorPoisoning } = fastify.initialConfig
  const parseJson = fastify.getDefaultJsonParser(onProtoPoisoning ?? 'error', onConstructorPoisoning ?? 'error')
  fastify.removeContentTypeParser('application/json')
  fastify.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    try {
      fastify.verifyRequestSignature(request, body)
    } catch (error) {
      done(error as Error, undefined)
      return
    }
    parseJson(request, body.toString('utf8'), done)
  })
  // A request without a body never reaches the parser (a parsed JSON body is never undefined):
  // its signature covers the empty body.
  fastify.addHook('preValidation', async (request) => {
    if (request.body === undefined) fastify.verifyRequestSignature(request, '')
  })
}
