// `fastify.transport` (src/transport/transport.ts): delivery to a channel's subscribers on every
// node, subscriptions, presence, counts and missed-event recovery, the same on every deployment
// (what differs is `fastify.backplane`'s). Publishers and the socket protocols go through it.
import fp from 'fastify-plugin'
import { createTransport, type Transport } from '../../src/transport/transport.ts'

declare module 'fastify' {
  interface FastifyInstance {
    transport: Transport
  }
}

export default fp(async function transport (fastify) {
  const slowSockets = fastify.metrics.counter('bridge_slow_sockets_disconnected_total',
    'Sockets disconnected because more than BRIDGE_MAX_BUFFERED_BYTES waited to be sent to them')
  const unrecoverable = fastify.metrics.counter('bridge_recovery_unrecoverable_total',
    'Reconnecting clients told recovered === false because events they missed are gone (trimmed, past the window or the memory budget, lost with Redis)')
  const transport = await createTransport({
    io: fastify.io,
    backplane: fastify.backplane,
    internals: fastify.socketInternals,
    config: fastify.config,
    log: fastify.log,
    onSlowSocket: () => slowSockets.inc(),
    onUnrecoverable: () => unrecoverable.inc()
  })
  fastify.decorate('transport', transport)

  fastify.metrics.gauge('bridge_subscriptions', 'Subscriptions (socket, room or channel pairs) on this node',
    () => transport.localStats().subscriptions)
  fastify.metrics.gauge('bridge_rooms', 'Rooms and channels with at least one subscriber on this node',
    () => transport.localStats().channels)
  fastify.metrics.gauge('bridge_recovery_kept_bytes', 'Bytes of events this node keeps for clients that reconnect (at most BRIDGE_RECOVERY_MAX_BYTES)',
    () => transport.localStats().keptEvents.bytes)
  fastify.metrics.gauge('bridge_recovery_kept_events', 'Events this node keeps for clients that reconnect',
    () => transport.localStats().keptEvents.events)

  // After the socket.io connections were closed (plugins/app/graceful-shutdown.ts), so a cluster
  // keeps the sessions they left for another node.
  fastify.addHook('onClose', async () => {
    await transport.close()
  })
}, {
  name: 'transport',
  dependencies: ['socket-io', 'socket-internals', 'backplane', 'metrics']
})
