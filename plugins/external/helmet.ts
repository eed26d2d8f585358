// Security headers on HTTP answers (helmet). The bridge answers JSON, which a browser
// should never render, frame or sniff: the default policy lets a page load nothing. Swagger UI
// at /docs replaces it with a policy of its own (plugins/external/swagger.ts). socket.io's own HTTP
// answers do not pass through Fastify and carry none of these.
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

/** The headers helmet sets with these options: the same for every request, so worked out once. */
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

// @fastify/helmet builds helmet's whole middleware (options, policy string) again on every
// request; on the publish path that was a tenth of the bridge's CPU. These options set fixed
// headers, so they are computed at start and copied onto each answer the same way.
export default fp(async function helmet (fastify) {
  const headers = helmetHeaders(helmetOptions)
  fastify.addHook('onRequest', (_request, reply, done) => {
    for (const [name, value] of headers) reply.raw.setHeader(name, value)
    done()
  })
}, { name: 'helmet' })
