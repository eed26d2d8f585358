// Options of the Fastify instance itself (logger, limits, validator): shared by the
// server entry point and the tests, so both run the bridge the same way.
import type { IncomingMessage, Server } from 'node:http'
import type { FastifyHttpOptions } from 'fastify'
import { pino } from 'pino'
import type { Config } from '../config/index.ts'
import { maxDepthKeyword } from '../schemas/json-depth.ts'
import { BridgeLogController } from './request-logging.ts'

/** Longest time to receive a request's headers (the contract's 10 s). */
export const HEADERS_TIMEOUT_MS = 10_000
/** How often Node looks for requests past their timeouts: the most a timeout may be overrun by. */
const CONNECTIONS_CHECKING_INTERVAL_MS = 1000
const KEEP_ALIVE_TIMEOUT_MS = 72_000
/** A client's X-Request-Id that is kept as the request id (`reqId` in its log lines): 1-64 printable ASCII characters. */
const CLIENT_REQUEST_ID = /^[\x20-\x7e]{1,64}$/

/**
 * Request ids: the client's X-Request-Id when it is short and printable (it is logged with
 * each of the request's lines), else one of ours, as Fastify makes them (`req-1`, `req-2`, …).
 */
function requestIds () {
  let last = 0
  return function requestId (request: IncomingMessage): string {
    const id = request.headers['x-request-id']
    if (typeof id === 'string' && CLIENT_REQUEST_ID.test(id)) return id
    // Kept a small integer, as Fastify does: past 2^31 - 1 it starts again.
    last = (last + 1) & 0x7fffffff
    return `req-${last.toString(36)}`
  }
}

export function serverOptions (config: Config): FastifyHttpOptions<Server> {
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
    // Every request has an end (contract, section 4): the whole request within
    // BRIDGE_REQUEST_TIMEOUT of its first byte, its headers within HEADERS_TIMEOUT_MS, else 408
    // and the connection is closed. Node checks both only every `connectionsCheckingInterval`.
    requestTimeout: config.requestTimeoutMs,
    http: {
      headersTimeout: Math.min(HEADERS_TIMEOUT_MS, config.requestTimeoutMs),
      connectionsCheckingInterval: CONNECTIONS_CHECKING_INTERVAL_MS
    },
    // An idle keep-alive connection is closed after this; longer than the 60 s idle timeout of
    // common load balancers, so they never reuse a connection the bridge is closing.
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    // request.ip is the client's only behind the proxies BRIDGE_TRUST_PROXY names.
    trustProxy: config.trustProxy.length > 0 ? config.trustProxy : false,
    // Loading every plugin from TypeScript sources (tests, `npm run dev`) on a busy machine can
    // take longer than Fastify's 10 s default, and in cluster mode the start waits for Redis
    // before giving up with its own message; a plugin that really hangs still fails the start.
    pluginTimeout: 60_000,
    // Room names in URLs (GET /api/rooms/:room) reach 128 characters, 3 times that encoded.
    routerOptions: { maxParamLength: 512 },
    logController: new BridgeLogController({ requestIdLogLabel: 'reqId' }),
    requestIdHeader: false,
    genReqId: requestIds(),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    ajv: {
      // `x-max-depth` on free-form fields (src/schemas/fields.ts) is checked, not only documented.
      plugins: [maxDepthKeyword],
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
