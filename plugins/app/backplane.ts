// `fastify.backplane`: what differs between one bridge and a cluster (the bus between nodes,
// de-duplication claims, sessions of dropped clients, node liveness), chosen once from the
// configuration (src/backplane/create.ts). Its readiness checks go to `/ready`.
import fp from 'fastify-plugin'
import type { Backplane } from '../../src/backplane/backplane.ts'
import { createBackplane } from '../../src/backplane/create.ts'

declare module 'fastify' {
  interface FastifyInstance {
    backplane: Backplane
  }
}

export default fp(async function backplane (fastify) {
  const backplane = await createBackplane({ config: fastify.config, log: fastify.log, recoveryWindowMs: fastify.config.recoveryWindowSeconds * 1000 })
  fastify.decorate('backplane', backplane)
  for (const { name, ready } of backplane.readiness) fastify.readiness.addCheck(name, ready)
  fastify.metrics.gauge('bridge_backplane_lag_seconds', "How far this node's reading of the cluster's bus is behind its newest entry (0 on a bridge alone)",
    () => backplane.stats().lagSeconds)
  fastify.metrics.counterFrom('bridge_backplane_reconnects_total', "Times this node's Redis connection came back after it was lost (a Redis restart or failover included)",
    () => backplane.stats().reconnects)
  fastify.metrics.gauge('bridge_backplane_shards_read', "Shards of the cluster's bus this node reads: on a Redis Cluster the bus is split by channel and a node reads the shards of its sockets' channels; elsewhere it is one stream, read whole (1)",
    () => backplane.stats().shardsRead)
  fastify.metrics.counterFrom('bridge_backplane_events_read_total', "Events this node read from the cluster's bus: its sockets' channels' (and on a Redis Cluster the other channels of their shards); 0 on a bridge alone",
    () => backplane.stats().eventsRead)
  // After the transport's own close (plugins close in the reverse order of their start).
  fastify.addHook('onClose', async () => {
    await backplane.close()
  })
}, {
  name: 'backplane',
  dependencies: ['readiness', 'metrics']
})
