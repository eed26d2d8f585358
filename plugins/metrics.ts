// Prometheus metrics as `fastify.metrics`: counters other plugins move, gauges read when
// scraped, HTTP timings by route, and prom-client's default process metrics.
import fp from 'fastify-plugin'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { FastifyInstance } from 'fastify'

/** The metrics the bridge's plugins record into; served by `GET /metrics`. */
export interface BridgeMetrics {
  registry: Registry
  eventsPublished: Counter<'event'>
  duplicatePublishes: Counter<'event'>
  shedRequests: Counter<'reason'>
  socketConnectionsRefused: Counter<'reason'>
  subscribeRefusals: Counter<'code'>
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: BridgeMetrics
  }
}

/** Socket-room memberships and rooms on this node (socket.io also puts each socket in a room named by its id). */
function countSubscriptions (fastify: FastifyInstance): { subscriptions: number, rooms: number } {
  const { adapter } = fastify.io.of('/')
  let subscriptions = 0
  let rooms = 0
  for (const [room, members] of adapter.rooms) {
    if (adapter.sids.has(room)) continue
    rooms += 1
    subscriptions += members.size
  }
  return { subscriptions, rooms }
}

function createMetrics (fastify: FastifyInstance) {
  // Its own registry, not prom-client's global one: several bridges may share a process (tests).
  const registry = new Registry()
  const registers = [registry]
  collectDefaultMetrics({ register: registry })

  const httpLabels = ['method', 'route', 'status_code'] as const
  const metrics = {
    registry,
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
    eventsPublished: new Counter({
      name: 'bridge_events_published_total',
      help: 'Events handed to socket.io, by socket.io event name',
      labelNames: ['event'] as const,
      registers
    }),
    duplicatePublishes: new Counter({
      name: 'bridge_duplicate_publishes_total',
      help: 'Publishes whose uuid was already accepted within the de-duplication window (nothing emitted)',
      labelNames: ['event'] as const,
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
    }),
    socketConnections: new Gauge({
      name: 'bridge_socket_connections',
      help: 'socket.io connections open on this node',
      registers,
      collect () { this.set(fastify.io.of('/').sockets.size) }
    }),
    subscriptions: new Gauge({
      name: 'bridge_subscriptions',
      help: 'Room subscriptions (socket, room pairs) on this node',
      registers,
      collect () { this.set(countSubscriptions(fastify).subscriptions) }
    }),
    rooms: new Gauge({
      name: 'bridge_rooms',
      help: 'Rooms with at least one subscriber on this node',
      registers,
      collect () { this.set(countSubscriptions(fastify).rooms) }
    }),
    // The values load shedding compares with its thresholds, to tune them from real data.
    eventLoopDelay: new Gauge({
      name: 'bridge_event_loop_delay_seconds',
      help: 'Mean event-loop delay over the last sample, as load shedding measures it',
      registers,
      collect () { this.set(fastify.memoryUsage().eventLoopDelay / 1000) }
    }),
    eventLoopUtilization: new Gauge({
      name: 'bridge_event_loop_utilization',
      help: 'Event-loop utilization (0-1) over the last sample, as load shedding measures it',
      registers,
      collect () { this.set(fastify.memoryUsage().eventLoopUtilized) }
    }),
    overloaded: new Gauge({
      name: 'bridge_overloaded',
      help: '1 while a load-shedding threshold is exceeded, else 0',
      registers,
      collect () { this.set(fastify.isUnderPressure() ? 1 : 0) }
    })
  }

  return metrics
}

export default fp(async function metrics (fastify) {
  const all = createMetrics(fastify)
  fastify.decorate('metrics', all)

  fastify.addHook('onRequest', async (_request, reply) => {
    all.httpInFlight.inc()
    // 'close' comes exactly once: when answered, or when the client went away first.
    reply.raw.once('close', () => all.httpInFlight.dec())
  })
  fastify.addHook('onResponse', async (request, reply) => {
    const labels = {
      method: request.method,
      // The pattern, not the URL, so room names and typos cannot multiply the series.
      route: request.routeOptions.url ?? 'unmatched',
      status_code: reply.statusCode
    }
    all.httpRequests.inc(labels)
    all.httpDuration.observe(labels, reply.elapsedTime / 1000)
  })
}, {
  name: 'metrics',
  dependencies: ['fastify-socket.io', '@fastify/under-pressure']
})
