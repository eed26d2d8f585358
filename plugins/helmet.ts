// Security headers on HTTP answers (@fastify/helmet). The bridge answers JSON, which a browser
// should never render, frame or sniff: the default policy lets a page load nothing. Swagger UI
// at /docs replaces it with a policy of its own (plugins/swagger.ts). socket.io's own HTTP
// answers do not pass through Fastify and carry none of these.
import helmet, { type FastifyHelmetOptions } from '@fastify/helmet'

export const autoConfig: FastifyHelmetOptions = {
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

export default helmet
