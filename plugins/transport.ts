// `fastify.transport`: single node or cluster, decided once. It owns everything Redis (the
// connection, its readiness check, the socket.io adapter, the de-duplication store) and is
// what publishers and subscriptions go through (src/transport/transport.ts).
import fp from 'fastify-plugin'
import { createTransport, type Transport } from '../src/transport/transport.ts'

declare module 'fastify' {
  interface FastifyInstance {
    transport: Transport
  }
}

export default fp(async function transport (fastify) {
  const transport = await createTransport({ io: fastify.io, config: fastify.config, log: fastify.log })
  fastify.decorate('transport', transport)

  if (transport.mode === 'cluster') {
    fastify.readiness.addCheck('Redis unreachable (cluster mode)', transport.ready)
  }

  fastify.metrics.gauge('bridge_subscriptions', 'Subscriptions (socket, room or channel pairs) on this node',
    () => transport.localStats().subscriptions)
  fastify.metrics.gauge('bridge_rooms', 'Rooms and channels with at least one subscriber on this node',
    () => transport.localStats().channels)

  // After the socket.io connections were closed (plugins/graceful-shutdown.ts), so a cluster
  // keeps the sessions they left for another node.
  fastify.addHook('onClose', async () => {
    await transport.close()
  })
}, {
  name: 'transport',
  dependencies: ['socket-io', 'readiness', 'metrics']
})
