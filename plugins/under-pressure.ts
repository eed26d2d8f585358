// Load shedding: past a threshold (event-loop delay or utilization, heap, RSS) requests
// answer 503 with Retry-After, except routes that opt out (/health, /ready, /metrics).
import underPressure, { type FastifyUnderPressureOptions } from '@fastify/under-pressure'
import type { FastifyInstance } from 'fastify'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** `false` keeps the route answering while the bridge is overloaded (operations endpoints). */
    loadShedding?: boolean
  }
}

/** Seconds a shed client is told to wait; Laravel's HTTP client and queue retries can honour it. */
export const RETRY_AFTER_SECONDS = 10

/** Shed requests are counted, and logged once per quiet period rather than once each. */
const WARN_INTERVAL_MS = 10_000

type PressureHandler = NonNullable<FastifyUnderPressureOptions['pressureHandler']>

export const autoConfig = (fastify: FastifyInstance): FastifyUnderPressureOptions => {
  let lastWarning = -Infinity

  /** Lets opted-out routes through (undefined); otherwise counts the request and returns its 503 answer. */
  function shed (...[request, reply, type, value]: Parameters<PressureHandler>) {
    if (request.routeOptions.config.loadShedding === false) return undefined
    fastify.metrics.shedRequests.inc({ reason: type })
    const now = Date.now()
    if (now - lastWarning > WARN_INTERVAL_MS) {
      lastWarning = now
      fastify.log.warn({ reason: type, value }, 'overloaded: answering 503 to new requests')
    }
    reply.code(503).header('retry-after', String(RETRY_AFTER_SECONDS))
    return {
      statusCode: 503,
      error: 'Service Unavailable',
      message: `The bridge is overloaded; retry in ${RETRY_AFTER_SECONDS} seconds`,
      code: 'FST_UNDER_PRESSURE'
    }
  }

  return {
    maxEventLoopDelay: fastify.config.maxEventLoopDelayMs,
    maxHeapUsedBytes: fastify.config.maxHeapUsedBytes,
    maxRssBytes: fastify.config.maxRssBytes,
    maxEventLoopUtilization: fastify.config.maxEventLoopUtilization,
    // Utilization of the last sample, not the average since start.
    eventLoopUtilizationMode: 'interval',
    // The plugin sends a returned value as the answer (its README says so; its types do
    // not): unlike reply.send() inside the handler, that cannot let the route run as well.
    pressureHandler: shed as unknown as PressureHandler
  }
}

export default underPressure
