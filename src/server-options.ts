// Options of the Fastify instance itself (logger, limits, validator): shared by the
// server entry point and the tests, so both run the bridge the same way.
import type { FastifyServerOptions } from 'fastify'
import type { Config } from './config.ts'
import { BridgeLogController } from './request-logging.ts'

export function serverOptions (config: Config): FastifyServerOptions {
  return {
    logger: {
      level: config.logLevel,
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
    // Loading every plugin from TypeScript sources (tests, `npm run dev`) on a busy machine can
    // take longer than Fastify's 10 s default; a plugin that really hangs still fails the start.
    pluginTimeout: 60_000,
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
