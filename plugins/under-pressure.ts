// Load shedding: past a threshold (event-loop delay or utilization, heap, RSS) requests
// answer 503 with Retry-After, except routes that opt out (/health, /ready, /metrics).
import underPressure, { type FastifyUnderPressureOptions } from '@fastify/under-pressure'
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { Overloaded, RETRY_AFTER_SECONDS } from '../src/errors.ts'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** `false` keeps the route answering while the bridge is overloaded (operations endpoints). */
    loadShedding?: boolean
  }
}

/** Shed requests are counted, and logged once per quiet period rather than once each. */
const WARN_INTERVAL_MS = 10_000

type PressureHandler = NonNullable<FastifyUnderPressureOptions['pressureHandler']>

export function underPressureOptions (fastify: FastifyInstance): FastifyUnderPressureOptions {
  let lastWarning = -Infinity

  /** Lets opted-out routes through; otherwise counts the request and fails it with a 503. */
  async function shed (...[request, _reply, type, value]: Parameters<PressureHandler>): Promise<void> {
    if (request.routeOptions.config.loadShedding === false) return
    fastify.metrics.shedRequests.inc({ reason: type })
    const now = Date.now()
    if (now - lastWarning > WARN_INTERVAL_MS) {
      lastWarning = now
      fastify.log.warn({ reason: type, value }, 'overloaded: answering 503 to new requests')
    }
    throw new Overloaded(`The bridge is overloaded; retry in ${RETRY_AFTER_SECONDS} seconds`)
  }

  return {
    maxEventLoopDelay: fastify.config.maxEventLoopDelayMs,
    maxHeapUsedBytes: fastify.config.maxHeapUsedBytes,
    maxRssBytes: fastify.config.maxRssBytes,
    maxEventLoopUtilization: fastify.config.maxEventLoopUtilization,
    // Utilization of the last sample, not the average since start.
    eventLoopUtilizationMode: 'interval',
    // A rejected promise goes to the app's error handler, as any other 503.
    pressureHandler: shed
  }
}

export default fp(async function loadShedding (fastify) {
  await fastify.register(underPressure, underPressureOptions(fastify))

  // The values load shedding compares with its thresholds, to tune them from real data.
  const { metrics } = fastify
  metrics.gauge('bridge_event_loop_delay_seconds', 'Mean event-loop delay over the last sample, as load shedding measures it',
    () => fastify.memoryUsage().eventLoopDelay / 1000)
  metrics.gauge('bridge_event_loop_utilization', 'Event-loop utilization (0-1) over the last sample, as load shedding measures it',
    () => fastify.memoryUsage().eventLoopUtilized)
  metrics.gauge('bridge_overloaded', '1 while a load-shedding threshold is exceeded, else 0', () => fastify.isUnderPressure() ? 1 : 0)
}, {
  name: 'under-pressure',
  dependencies: ['metrics']
})
