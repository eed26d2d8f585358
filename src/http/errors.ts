// The bridge's errors in one place: every error it answers with, the 503 policy (one
// Retry-After rule), and the handlers that give every answer Fastify's JSON shape, or Pusher's
// `{ "error" }` on the Pusher HTTP API's routes.
import { STATUS_CODES } from 'node:http'
import createError from '@fastify/error'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { MAX_DEPTH_KEYWORD } from '../schemas/json-depth.ts'
import { createRateLimitedLog } from '../ops/rate-limited-log.ts'
import { loggedUrl } from './request-logging.ts'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** `pusher`: errors as Pusher's HTTP API answers them (set on routes/apps by plugins/app/pusher-auth.ts). */
    errorShape?: 'pusher'
  }
}

/** Every 503 carries Retry-After: this, unless the bridge knows when the cause ends (claims full). */
export const RETRY_AFTER_SECONDS = 5

const unavailableHeaders = { 'retry-after': String(RETRY_AFTER_SECONDS) }
const unauthorizedHeaders = { 'www-authenticate': 'Bearer' }

export const Unauthorized = withHeaders(createError('BRIDGE_UNAUTHORIZED', '%s', 401), unauthorizedHeaders)
export const BadSignature = withHeaders(createError('BRIDGE_BAD_SIGNATURE', '%s', 401), unauthorizedHeaders)
export const PusherUnauthorized = createError('BRIDGE_PUSHER_UNAUTHORIZED', '%s', 401)
/** A Pusher HTTP API request whose body or query breaks a rule the schema cannot express. */
export const PusherBadRequest = createError('BRIDGE_PUSHER_BAD_REQUEST', '%s', 400)
export const RedisUnavailable = withHeaders(createError('BRIDGE_REDIS_UNAVAILABLE', '%s', 503), unavailableHeaders)
export const UnencodableEvent = createError('BRIDGE_UNENCODABLE_EVENT', '%s', 400)
export const ShuttingDown = withHeaders(createError('BRIDGE_SHUTTING_DOWN', '%s', 503), unavailableHeaders)
export const Overloaded = withHeaders(createError('FST_UNDER_PRESSURE', '%s', 503), unavailableHeaders)

export const ClaimsFull = createError('BRIDGE_CLAIMS_FULL', '%s', 503)

export function claimsFull (retryAfterSeconds: number): FastifyError {
  const error = new ClaimsFull('The memory kept for de-duplication claims is full (BRIDGE_IDEMPOTENCY_MAX_ENTRIES); ' +
    `nothing was published, retry in ${retryAfterSeconds} seconds`)
  Object.defineProperty(error, 'headers', { value: { 'retry-after': String(retryAfterSeconds) } })
  return error
}

export const PublishPending = createError('BRIDGE_PUBLISH_PENDING', '%s', 503)

/** A uuid (or signature) claimed by a publish not yet handed on: in flight elsewhere, or its node died and the claim expires within the wait. */
export function publishPending (retryAfterSeconds: number): FastifyError {
  const seconds = Math.max(1, Math.ceil(retryAfterSeconds))
  const error = new PublishPending('The same uuid (or signature) is being published by another request, or the node publishing it died; ' +
    `nothing was published, retry in ${seconds} seconds`)
  Object.defineProperty(error, 'headers', { value: { 'retry-after': String(seconds) } })
  return error
}

function withHeaders<E extends new (...args: never[]) => Error> (ErrorKind: E, headers: Record<string, string>): E {
  Object.defineProperty(ErrorKind.prototype, 'headers', { value: headers })
  return ErrorKind
}

/** The answer body for any error, in Fastify's shape; 5xx details stay in the log. */
export function errorAnswer (error: Pick<FastifyError, 'message' | 'code'>, statusCode: number) {
  const message = statusCode >= 500 && statusCode !== 503
    ? 'Something went wrong in the bridge; see its log'
    : error.message
  return {
    statusCode,
    error: STATUS_CODES[statusCode] ?? 'Error',
    message,
    ...(error.code !== undefined && { code: error.code })
  }
}

function clientMessage (error: FastifyError): string {
  if (error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error instanceof SyntaxError) return 'body is not valid JSON'
  if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return 'Content-Type must be application/json'
  return error.message
}

/** Some reasons quote what the client sent (a Pusher string to sign holds its query). */
const MAX_LOGGED_REASON_LENGTH = 512

export function createErrorHandler () {
  const logRefusal = createRateLimitedLog()

  /** A client can cause refusals at will: at most one line a second per status and code. */
  function logRefused (request: FastifyRequest, error: FastifyError, statusCode: number): void {
    logRefusal(`${statusCode} ${error.code}`, (notLogged) => {
      const { message } = error
      const reason = message.length <= MAX_LOGGED_REASON_LENGTH ? message : `${message.slice(0, MAX_LOGGED_REASON_LENGTH - 1)}…`
      const line = { method: request.method, url: loggedUrl(request.url), statusCode, code: error.code, reason, notLogged }
      if (statusCode === 503) request.log.warn(line, 'request refused')
      else request.log.info(line, 'request refused')
    })
  }

  return function errorHandler (error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
    const statusCode = error.statusCode !== undefined && error.statusCode >= 400 ? error.statusCode : 500
    const pusher = request.routeOptions.config?.errorShape === 'pusher'
    if (statusCode === 503) {
      // Expected, and the message says why: no stack. Shed requests are logged by load shedding.
      if (error.code !== 'FST_UNDER_PRESSURE') logRefused(request, error, statusCode)
    } else if (statusCode >= 500) {
      request.log.error({ err: error }, 'request failed')
    } else {
      error.message = clientMessage(error)
      // Too deep is one problem with one code, whether the body reader or a field's schema saw it.
      if (error.validation?.[0]?.keyword === MAX_DEPTH_KEYWORD) error.code = 'INVALID_PAYLOAD'
      logRefused(request, error, statusCode)
    }
    const { headers } = error as { headers?: Record<string, string> }
    if (headers !== undefined) reply.headers(headers)
    const answer = errorAnswer(error, statusCode)
    return reply.code(statusCode).send(pusher ? { error: answer.message } : answer)
  }
}

export function notFoundHandler (request: FastifyRequest, reply: FastifyReply) {
  const message = `Route ${request.method}:${request.url.split('?')[0]} not found`
  return reply.code(404).send({ statusCode: 404, error: 'Not Found', message })
}
