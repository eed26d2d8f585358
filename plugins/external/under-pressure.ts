// Load shedding: past a threshold (event-loop delay or utilization, live heap, RSS) requests
// answer 503 with Retry-After, except routes that opt out (/health, /ready, /metrics).
// Event-loop thresholds are @fastify/under-pressure's own; memory is measured after a full
// garbage collection (src/ops/memory-pressure.ts) and reaches under-pressure as its health check.
import fastifyUnderPressure, { type FastifyUnderPressureOptions } from '@fastify/under-pressure'
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { Overloaded, RETRY_AFTER_SECONDS } from '../../src/http/errors.ts'
import { watchMemoryPressure, type MemoryPressure } from '../../src/ops/memory-pressure.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** Whether load shedding refuses new work now (new sockets ask it too). */
    overloaded: () => boolean
  }
  interface FastifyContextConfig {
    /** `false` keeps the route answering while the bridge is overloaded (operations endpoints). */
    loadShedding?: boolean
  }
}

/** Shed requests are counted, and logged once per quiet period rather than once each. */
const WARN_INTERVAL_MS = 10_000
/** How often the load is sampled: short, so shedding starts and ends within a fraction of a second. */
export const SAMPLE_INTERVAL_MS = 250
/** Shortest time between two garbage collections asked for while memory looks short. */
const COLLECT_EVERY_MS = 5000

type PressureHandler = NonNullable<FastifyUnderPressureOptions['pressureHandler']>

/**
 * The event loop is judged from two full samples after start on: starting (loading modules,
 * compiling every route's schema) blocks the loop for a moment, and the first sample would
 * count that as overload and refuse the first requests of a node the load balancer just added.
 */
export function startupGrace () {
  let settledAt = Infinity
  return {
    ready: () => { settledAt = Date.now() + 2 * SAMPLE_INTERVAL_MS },
    active: () => Date.now() < settledAt
  }
}

export function underPressureOptions (fastify: FastifyInstance, memory: MemoryPressure, grace: ReturnType<typeof startupGrace>): FastifyUnderPressureOptions {
  let lastWarning = -Infinity

  /** Lets opted-out routes through; otherwise counts the request and fails it with a 503. */
  async function shed (...[request, _reply, type, value]: Parameters<PressureHandler>): Promise<void> {
    if (request.routeOptions.config.loadShedding === false) return
    if ((type === 'eventLoopDelay' || type === 'eventLoopUtilization') && grace.active()) return
    // The health check is the memory watcher: name what it found short.
    const reason = type === 'healthCheck' ? memory.reason ?? 'memory' : type
    fastify.metrics.shedRequests.inc({ reason })
    const now = Date.now()
    if (now - lastWarning > WARN_INTERVAL_MS) {
      lastWarning = now
      fastify.log.warn({ reason, value: type === 'healthCheck' ? memory.heapUsedAfterCollection : value }, 'overloaded: answering 503 to new requests')
    }
    throw new Overloaded(`The bridge is overloaded; retry in ${RETRY_AFTER_SECONDS} seconds`)
  }

  const { config } = fastify
  const memoryWatched = config.maxHeapUsedBytes > 0 || config.maxRssBytes > 0
  return {
    sampleInterval: SAMPLE_INTERVAL_MS,
    maxEventLoopDelay: config.maxEventLoopDelayMs,
    maxEventLoopUtilization: config.maxEventLoopUtilization,
    // Utilization of the last sample, not the average since start.
    eventLoopUtilizationMode: 'interval',
    // Raw heap and RSS samples count garbage: memory is judged by the watcher instead.
    maxHeapUsedBytes: 0,
    maxRssBytes: 0,
    ...(memoryWatched && {
      healthCheck: async () => memory.check() === undefined,
      healthCheckInterval: SAMPLE_INTERVAL_MS
    }),
    // A rejected promise goes to the app's error handler, as any other 503.
    pressureHandler: shed
  }
}

export default fp(async function underPressure (fastify) {
  const memory = watchMemoryPressure({
    maxHeapUsedBytes: fastify.config.maxHeapUsedBytes,
    maxRssBytes: fastify.config.maxRssBytes,
    collectEveryMs: COLLECT_EVERY_MS
  })
  fastify.addHook('onClose', async () => { memory.stop() })
  const grace = startupGrace()
  fastify.addHook('onReady', async () => { grace.ready() })
  await fastify.register(fastifyUnderPressure, underPressureOptions(fastify, memory, grace))
  // During the startup grace only memory counts.
  fastify.decorate('overloaded', () => fastify.isUnderPressure() && (!grace.active() || memory.reason !== undefined))

  // The values load shedding compares with its thresholds, to tune them from real data.
  const { metrics } = fastify
  metrics.gauge('bridge_event_loop_delay_seconds', 'Mean event-loop delay over the last sample, as load shedding measures it',
    () => fastify.memoryUsage().eventLoopDelay / 1000)
  metrics.gauge('bridge_event_loop_utilization', 'Event-loop utilization (0-1) over the last sample, as load shedding measures it',
    () => fastify.memoryUsage().eventLoopUtilized)
  metrics.gauge('bridge_heap_used_after_gc_bytes', 'Heap used right after the last full garbage collection seen (what memory-based shedding compares)',
    () => memory.heapUsedAfterCollection ?? 0)
  metrics.gauge('bridge_overloaded', '1 while a load-shedding threshold is exceeded, else 0', () => fastify.isUnderPressure() ? 1 : 0)
}, {
  name: 'under-pressure',
  dependencies: ['metrics']
})
