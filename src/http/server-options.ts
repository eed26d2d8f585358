// Options of the Fastify instance itself (logger, limits, validator), shared by the entry point
// and the tests so that both run the bridge the same way.
import type { IncomingMessage, Server } from 'node:http'
import type { FastifyHttpOptions } from 'fastify'
import { pino } from 'pino'
import type { Config } from '../config/index.ts'
import { maxDepthKeyword } from '../schemas/json-depth.ts'
import { BridgeLogController } from './request-logging.ts'

export const HEADERS_TIMEOUT_MS = 10_000

/** The whole head within 10 s, or within the request timeout when that is shorter. */
export function headersTimeoutMs (config: Config): number {
  return Math.min(HEADERS_TIMEOUT_MS, config.requestTimeoutMs)
}
/** How often Node looks for requests past their timeouts: the most a timeout may be overrun by. */
const CONNECTIONS_CHECKING_INTERVAL_MS = 1000
const KEEP_ALIVE_TIMEOUT_MS = 72_000
const CLIENT_REQUEST_ID = /^[\x20-\x7e]{1,64}$/

/** Request ids: the client's X-Request-Id when short and printable, else one of ours as Fastify makes them. */
function requestIds () {
  let last = 0
  return function requestId (request: IncomingMessage): string {
    const id = request.headers['x-request-id']
    if (typeof id === 'string' && CLIENT_REQUEST_ID.test(id)) return id
    last = (last + 1) & 0x7fffffff
    return `req-${last.toString(36)}`
  }
}

export function serverOptions (config: Config): FastifyHttpOptions<Server> {
  return {
    logger: {
      level: config.logLevel,
      // Asynchronous writes: a synchronous one is a system call per publish on the hot path.
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
    // Every request has an end (docs/security.md#limits-and-timeouts); Node checks only every
    // `connectionsCheckingInterval`.
    requestTimeout: config.requestTimeoutMs,
    http: {
      headersTimeout: headersTimeoutMs(config),
      connectionsCheckingInterval: CONNECTIONS_CHECKING_INTERVAL_MS
    },
    // Longer than common load balancers' idle timeout, so they never reuse a connection the bridge is closing.
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    trustProxy: config.trustProxy.length > 0 ? config.trustProxy : false,
    // Loading the TypeScript sources on a busy machine, or waiting for Redis, can pass Fastify's default.
    pluginTimeout: 60_000,
    // Room names in URLs (GET /api/rooms/:room) reach 128 characters, 3 times that encoded.
    routerOptions: { maxParamLength: 512 },
    logController: new BridgeLogController({ requestIdLogLabel: 'reqId' }),
    requestIdHeader: false,
    genReqId: requestIds(),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    ajv: {
      plugins: [maxDepthKeyword],
      customOptions: {
        // Unknown fields are an error (almost always a typo), not silently dropped.
        removeAdditional: false,
        coerceTypes: false,
        allErrors: false,
        discriminator: true,
        // Gives errors their schema, so messages can quote its description.
        verbose: true
      }
    }
  }
}
