// What `fastify.close()` does before the server stops: wait for requests already received
// to be answered (their events reach the sockets), then close the socket.io connections.
//
// The whole sequence on SIGTERM/SIGINT (src/server.ts runs it within BRIDGE_SHUTDOWN_TIMEOUT):
// 1. readiness: /ready answers 503, new socket.io connections are refused;
//    Fastify answers 503 to new HTTP requests from then on;
// 2. here: requests in flight are answered, then every socket.io connection is closed;
// 3. Fastify stops listening and waits for the last connections to end;
// 4. onClose hooks close socket.io, the de-duplication store and the rest.
import fp from 'fastify-plugin'

export default fp(async function gracefulShutdown (fastify) {
  let inFlight = 0
  let onDrained: (() => void) | undefined

  fastify.addHook('onRequest', async (_request, reply) => {
    inFlight += 1
    // 'close' comes exactly once: when answered, or when the client went away first.
    reply.raw.once('close', () => {
      inFlight -= 1
      if (inFlight === 0) onDrained?.()
    })
  })

  fastify.addHook('preClose', async () => {
    if (inFlight > 0) {
      fastify.log.info({ inFlight }, 'shutdown: answering requests in flight')
      await new Promise<void>((resolve) => { onDrained = resolve })
    }
    // Closing the transport, not `socket.disconnect()`: a client told "io server disconnect"
    // stays offline, while one that lost its transport reconnects, through the load balancer
    // to another node. Buffered events are flushed before the transport closes.
    const sockets = fastify.io.of('/').sockets
    fastify.log.info({ sockets: sockets.size }, 'shutdown: closing socket.io connections')
    for (const socket of sockets.values()) socket.conn.close()
  })
}, {
  name: 'graceful-shutdown',
  // readiness first: its preClose hook marks the bridge as shutting down before this one runs.
  dependencies: ['readiness', 'fastify-socket.io']
})
