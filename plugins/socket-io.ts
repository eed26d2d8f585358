// socket.io on the same HTTP server as Fastify, as `fastify.io` (fastify-socket.io), typed
// with the event maps; new connections are refused while shutting down or overloaded.
import fastifySocketIO, { type FastifySocketioOptions } from 'fastify-socket.io'
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { BridgeServer } from '../src/schemas/socket.ts'
import { RECOVERY_WINDOW_MS } from '../src/transport/recovery.ts'

declare module 'fastify' {
  interface FastifyInstance {
    io: BridgeServer
  }
}

/** Why a new connection is refused now, if it is. */
function refusal (fastify: FastifyInstance): 'shutting_down' | 'overloaded' | undefined {
  if (fastify.readiness.shuttingDown) return 'shutting_down'
  if (fastify.isUnderPressure()) return 'overloaded'
  return undefined
}

export function socketIoOptions (fastify: FastifyInstance): FastifySocketioOptions {
  return {
    cors: { origin: fastify.config.corsOrigins },
    // A client back within the window gets its rooms, its data and the events it missed
    // (`socket.recovered`), from any node: the transport's adapter does it
    // (src/transport/recovery.ts). The middlewares check it again as a new connection (token
    // expiry, origin) before anything is sent to it.
    connectionStateRecovery: { maxDisconnectionDuration: RECOVERY_WINDOW_MS, skipMiddlewares: false },
    // Clients only send small subscribe/unsubscribe messages.
    maxHttpBufferSize: 16 * 1024,
    // Refused before the handshake: the client's reconnection (with back-off) tries again,
    // here later or on another node.
    allowRequest: (_request, callback) => {
      const reason = refusal(fastify)
      if (reason === undefined) return callback(null, true)
      fastify.metrics.socketConnectionsRefused.inc({ reason })
      callback(reason, false)
    },
    // plugins/graceful-shutdown.ts closes the connections, after requests in flight are answered.
    preClose: (done) => done()
  }
}

export default fp(async function socketIo (fastify) {
  // The package is CommonJS with its plugin on `exports.default`.
  await fastify.register(fastifySocketIO.default, socketIoOptions(fastify))

  fastify.metrics.gauge('bridge_socket_connections', 'socket.io connections open on this node', () => fastify.io.of('/').sockets.size)
}, {
  name: 'socket-io',
  dependencies: ['readiness', 'under-pressure', 'metrics']
})
