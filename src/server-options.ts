// Options of the Fastify instance itself (logger, limits, validator): shared by the
// server entry point and the tests, so both run the bridge the same way.
import type { FastifyServerOptions } from 'fastify'
import { pino } from 'pino'
import type { Config } from './config.ts'
import { BridgeLogController } from './request-logging.ts'

export function serverOptions (config: Config): FastifyServerOptions {
  return {
    logger: {
      level: config.logLevel,
      // Each publish logs a line; written synchronously that is a system call per publish on
      // the hot path. Asynchronous writes join the lines that pile up while one is in flight
      // (and pino flushes what is left when the process exits).
      stream: pino.destination({ dest: 1, sync: false }),
      redact: {
        // Credentials wherever a log call might carry them: request headers, socket auth, tokens.
        paths: [
          'req.headers.authorization', 'req.headers["x-bridge-signature"]',
          'headers.authorization', 'headers["x-bridge-signature"]',
          'auth.token', '*.token', 'token', '*.signature', 'signature'
        ],
        censor: '[redacted]'
      }
    },
    bodyLimit: config.bodyLimit,
    // request.ip is the client's only behind the proxies BRIDGE_TRUST_PROXY names.
    trustProxy: config.trustProxy.length > 0 ? config.trustProxy : false,
    // Loading every plugin from TypeScript sources (tests, `npm run dev`) on a busy machine can
    // take longer than Fastify's 10 s default, and in cluster mode the start waits for Redis
    // before giving up with its own message; a plugin that really hangs still fails the start.
    pluginTimeout: 60_000,
    // Room names in URLs (GET /api/rooms/:room) reach 128 characters, 3 times that encoded.
    routerOptions: { maxParamLength: 512 },
    logController: new BridgeLogController({ requestIdLogLabel: 'reqId' }),
    requestIdHeader: 'x-request-id',
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    ajv: {
      customOptions: {
        // Unknown fields are an error (almost always a typo), not silently dropped.
        removeAdditional: false,
        // A number is not a room name: no silent type conversion.
        coerceTypes: false,
        allErrors: false,
        discriminator: true,
        // Gives errors their schema, so messages can quote its description.
        verbose: true
      }
    }
  }
}
