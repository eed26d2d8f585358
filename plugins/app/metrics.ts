// Prometheus metrics as `fastify.metrics`: the registry, counters other plugins move, HTTP
// timings by route, and prom-client's default process metrics.
import fp from 'fastify-plugin'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { eventKinds } from '../../src/schemas/events.ts'

declare module 'fastify' {
  interface FastifyInstance {
    metrics: BridgeMetrics
  }
}

/** Event names with a label value of their own beside the HTTP API's five (each is a time series). */
export const MAX_EVENT_LABELS = 100

function eventLabeller () {
  const known = new Set<string>(eventKinds.map((kind) => kind.event))
  const seen = new Set<string>()
  return (event: string): string => {
    if (known.has(event) || seen.has(event)) return event
    if (seen.size >= MAX_EVENT_LABELS) return 'other'
    seen.add(event)
    return event
  }
}

/** The counters the plugins move; gauges that read another plugin's state are registered by it. */
function createMetrics () {
  // Its own registry, not prom-client's global one: several bridges may share a process (tests).
  const registry = new Registry()
  const registers = [registry]
  collectDefaultMetrics({ register: registry })

  const httpLabels = ['method', 'route', 'status_code'] as const
  return {
    registry,
    counter (name: string, help: string): Counter {
      return new Counter({ name, help, registers })
    },
    /** A counter read at each scrape, for a count another plugin keeps. */
    counterFrom (name: string, help: string, read: () => number): void {
      registry.registerMetric(new Counter({ name, help, registers: [], collect () { this.reset(); this.inc(read()) } }))
    },
    /** A gauge read at each scrape, for state another plugin owns. */
    gauge (name: string, help: string, read: () => number): void {
      registry.registerMetric(new Gauge({ name, help, registers: [], collect () { this.set(read()) } }))
    },
    httpRequests: new Counter({
      name: 'bridge_http_requests_total',
      help: 'HTTP requests answered, by route pattern and status',
      labelNames: httpLabels,
      registers
    }),
    httpDuration: new Histogram({
      name: 'bridge_http_request_duration_seconds',
      help: 'Time to answer HTTP requests, by route pattern and status',
      labelNames: httpLabels,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers
    }),
    httpInFlight: new Gauge({
      name: 'bridge_http_requests_in_flight',
      help: 'HTTP requests received and not yet answered (this scrape included)',
      registers
    }),
    eventLabel: eventLabeller(),
    eventsPublished: new Counter({
      name: 'bridge_events_published_total',
      help: 'Events handed on for delivery, by event name and source (api, pusher, laravel-redis)',
      labelNames: ['event', 'source'] as const,
      registers
    }),
    duplicatePublishes: new Counter({
      name: 'bridge_duplicate_publishes_total',
      help: 'Publishes whose uuid was already accepted within the de-duplication window (nothing emitted)',
      labelNames: ['event', 'source'] as const,
      registers
    }),
    laravelRedisMessages: new Counter({
      name: 'bridge_laravel_redis_messages_total',
      help: 'Messages of Laravel\'s redis broadcaster, by outcome: published, delivered_elsewhere (another node of the cluster published it), malformed, failed, overflow (arrived faster than delivered, dropped)',
      labelNames: ['outcome'] as const,
      registers
    }),
    laravelRedisResubscribes: new Counter({
      name: 'bridge_laravel_redis_resubscribes_total',
      help: 'Times the subscription to Laravel\'s Redis was lost and made again: broadcasts published in between are lost',
      registers
    }),
    laravelRedisMalformed: new Counter({
      name: 'bridge_laravel_redis_malformed_total',
      help: 'Messages of Laravel\'s redis broadcaster that were dropped, by reason',
      labelNames: ['reason'] as const,
      registers
    }),
    shedRequests: new Counter({
      name: 'bridge_shed_requests_total',
      help: 'HTTP requests answered 503 because the bridge was overloaded, by exceeded threshold',
      labelNames: ['reason'] as const,
      registers
    }),
    socketConnectionsRefused: new Counter({
      name: 'bridge_socket_connections_refused_total',
      help: 'New socket.io connections refused, by reason',
      labelNames: ['reason'] as const,
      registers
    }),
    subscribeRefusals: new Counter({
      name: 'bridge_subscribe_refusals_total',
      help: 'subscribe requests refused, by error code',
      labelNames: ['code'] as const,
      registers
    })
  }
}

export type BridgeMetrics = ReturnType<typeof createMetrics>

export default fp(async function metrics (fastify) {
  const all = createMetrics()
  fastify.decorate('metrics', all)

  // Callback hooks, not async ones: they run on every request, and a promise each is not free.
  fastify.addHook('onRequest', (_request, reply, done) => {
    all.httpInFlight.inc()
    reply.raw.once('close', () => all.httpInFlight.dec())
    done()
  })
  fastify.addHook('onResponse', (request, reply, done) => {
    const labels = {
      method: request.method,
      // The pattern, not the URL, so room names and typos cannot multiply the series.
      route: request.routeOptions.url ?? 'unmatched',
      status_code: reply.statusCode
    }
    all.httpRequests.inc(labels)
    all.httpDuration.observe(labels, reply.elapsedTime / 1000)
    done()
  })
}, { name: 'metrics' })
