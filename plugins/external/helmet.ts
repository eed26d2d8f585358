// Security headers on HTTP answers (helmet). The bridge answers JSON, which a browser should never
// render, frame or sniff: the policy lets a page load nothing (Swagger UI at /docs sets its own).
import type { IncomingMessage, ServerResponse } from 'node:http'
import fp from 'fastify-plugin'
import helmetMiddleware, { type HelmetOptions } from 'helmet'

export const helmetOptions: HelmetOptions = {
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'none'"],
      baseUri: ["'none'"],
      formAction: ["'none'"],
      frameAncestors: ["'none'"]
    }
  },
  // TLS ends in front of the bridge (it serves plain HTTP); HSTS belongs to whoever terminates it.
  strictTransportSecurity: false
}

function helmetHeaders (options: HelmetOptions): Array<[string, string]> {
  const headers = new Map<string, string>()
  const response = {
    setHeader: (name: string, value: string) => headers.set(name.toLowerCase(), value),
    removeHeader: (name: string) => headers.delete(name.toLowerCase())
  }
  helmetMiddleware(options)({} as IncomingMessage, response as unknown as ServerResponse, (error?: unknown) => {
    if (error !== undefined) throw error
  })
  return [...headers]
}

// @fastify/helmet rebuilds helmet's middleware on every request; these headers are fixed, so they
// are computed at start and copied onto each answer (docs/benchmarks.md).
export default fp(async function helmet (fastify) {
  const headers = helmetHeaders(helmetOptions)
  fastify.addHook('onRequest', (_request, reply, done) => {
    for (const [name, value] of headers) reply.raw.setHeader(name, value)
    done()
  })
}, { name: 'helmet' })
