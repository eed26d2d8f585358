// Load shedding (docs/operations.md#load-shedding): past a threshold (event-loop delay or
// utilization, live heap, RSS) requests answer 503 with Retry-After, except routes that opt out.
// Memory is judged after a full collection (src/ops/memory-pressure.ts), and a request arriving
// in a turn of the event loop already past the delay threshold is shed at once (src/ops/event-loop-turn.ts).
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

const WARN_INTERVAL_MS = 10_000
/** Short, so shedding starts and ends within a fraction of a second. */
export const SAMPLE_INTERVAL_MS = 250
const COLLECT_EVERY_MS = 5000

type PressureHandler = NonNullable<FastifyUnderPressureOptions['pressureHandler']>
type ShedReason = Parameters<PressureHandler>[2] | 'eventLoopTurn'

/** The 503 bodies, built once: shedding must cost less than the work it refuses. */
const overloadedMessage = `The bridge is overloaded; retry in ${RETRY_AFTER_SECONDS} seconds`
const shedAnswers = {
  fastify: JSON.stringify(errorAnswer(new Overloaded(overloadedMessage), 503)),
  pusher: JSON.stringify({ error: overloadedMessage })
}

/** The event loop is judged from two full samples after start on: starting blocks it a moment, which is not overload. */
export function startupGrace () {
  let settledAt = Infinity
  return {
    ready: () => { settledAt = Date.now() + 2 * SAMPLE_INTERVAL_MS },
    active: () => Date.now() < settledAt
  }
}

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
      const elapsed = turn.elapsed()
      if (turnTooLong(elapsed) && request.routeOptions.config.loadShedding !== false) {
        shed(request, reply, 'eventLoopTurn', elapsed)
        return
      }
      done()
    })
  }
  fastify.decorate('overloaded', () => turnTooLong(turn.elapsed()) || (fastify.isUnderPressure() && (!grace.active() || memory.reason !== undefined)))

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
