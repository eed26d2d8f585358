// Load shedding: past a threshold (event-loop delay or utilization, live heap, RSS) requests
// answer 503 with Retry-After, except routes that opt out (/health, /ready, /metrics).
// Event-loop thresholds are @fastify/under-pressure's own; memory is measured after a full
// garbage collection (src/ops/memory-pressure.ts) and reaches under-pressure as its health check.
// A request that arrives when the current turn of the event loop has already run past the
// delay threshold is shed at once too (src/ops/event-loop-turn.ts): that bounds each turn, and so
// how long /health and new connections wait, whatever the sampled figures say.
import fastifyUnderPressure, { type FastifyUnderPressureOptions } from '@fastify/under-pressure'
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { errorAnswer, Overloaded, RETRY_AFTER_SECONDS } from '../../src/http/errors.ts'
import { turnClock } from '../../src/ops/event-loop-turn.ts'
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
/** Why a request was shed: under-pressure's check, or a turn of the event loop past the delay threshold. */
type ShedReason = Parameters<PressureHandler>[2] | 'eventLoopTurn'

/**
 * The 503 bodies, in the error handler's shapes, worked out once: shedding must cost less than
 * the work it refuses, and an error built, thrown and handled per request cost about as much as
 * an accepted publish.
 */
const overloadedMessage = `The bridge is overloaded; retry in ${RETRY_AFTER_SECONDS} seconds`
const shedAnswers = {
  fastify: JSON.stringify(errorAnswer(new Overloaded(overloadedMessage), 503)),
  pusher: JSON.stringify({ error: overloadedMessage })
}

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

/** Sheds a request: counted, logged once per quiet period, answered 503 with Retry-After. */
export function loadShedder (fastify: FastifyInstance, memory: MemoryPressure) {
  let lastWarning = -Infinity
  return function shed (request: FastifyRequest, reply: FastifyReply, type: ShedReason, value: number | undefined): void {
    // The health check is the memory watcher: name what it found short.
    const reason = type === 'healthCheck' ? memory.reason ?? 'memory' : type
    fastify.metrics.shedRequests.inc({ reason })
    const now = Date.now()
    if (now - lastWarning > WARN_INTERVAL_MS) {
      lastWarning = now
      fastify.log.warn({ reason, value: type === 'healthCheck' ? memory.heapUsedAfterCollection : value }, 'overloaded: answering 503 to new requests')
    }
    reply.code(503).header('retry-after', String(RETRY_AFTER_SECONDS)).type('application/json; charset=utf-8')
      .send(request.routeOptions.config.errorShape === 'pusher' ? shedAnswers.pusher : shedAnswers.fastify)
  }
}

export function underPressureOptions (fastify: FastifyInstance, memory: MemoryPressure, grace: ReturnType<typeof startupGrace>, shed: ReturnType<typeof loadShedder>): FastifyUnderPressureOptions {
  /** Lets opted-out routes through; otherwise answers 503 (under-pressure goes on only if nothing was sent). */
  function handlePressure (...[request, reply, type, value]: Parameters<PressureHandler>): void {
    if (request.routeOptions.config.loadShedding === false) return
    if ((type === 'eventLoopDelay' || type === 'eventLoopUtilization') && grace.active()) return
    shed(request, reply, type, value)
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
    pressureHandler: handlePressure
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
  const shed = loadShedder(fastify, memory)
  await fastify.register(fastifyUnderPressure, underPressureOptions(fastify, memory, grace, shed))

  // Registered after under-pressure's own hook: a request it has shed already is not seen here.
  const turn = turnClock()
  const maxTurnMs = fastify.config.maxEventLoopDelayMs
  const turnTooLong = (elapsed: number) => maxTurnMs > 0 && elapsed > maxTurnMs && !grace.active()
  if (maxTurnMs > 0) {
    fastify.addHook('onRequest', (request, reply, done) => {
      // Every request starts the clock, so a turn is measured from its first request of any kind.
      const elapsed = turn.elapsed()
      if (turnTooLong(elapsed) && request.routeOptions.config.loadShedding !== false) {
        shed(request, reply, 'eventLoopTurn', elapsed)
        return
      }
      done()
    })
  }
  // During the startup grace only memory counts.
  fastify.decorate('overloaded', () => turnTooLong(turn.elapsed()) || (fastify.isUnderPressure() && (!grace.active() || memory.reason !== undefined)))

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
