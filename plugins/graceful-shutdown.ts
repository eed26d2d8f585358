// What `fastify.close()` does before the server stops: wait for requests already received
// to be answered (their events reach the sockets), then close the socket.io connections.
//
// The whole sequence on SIGTERM/SIGINT (src/server.ts runs it within BRIDGE_SHUTDOWN_TIMEOUT):
// 1. readiness: /ready answers 503, new socket.io connections are refused;
//    Fastify answers 503 to new HTTP requests from then on;
// 2. here: requests in flight are answered, then every socket.io connection is closed;
// 3. Fastify stops listening and waits for the last connections to end;
// 4. onClose hooks close the transport (Redis), socket.io and the rest.
import { once } from 'node:events'
import fp from 'fastify-plugin'

/** Longest wait for closed connections to be seen closed (their sessions saved for recovery). */
const DISCONNECTS_WITHIN_MS = 2000

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
    const sockets = [...fastify.io.of('/').sockets.values()]
    fastify.log.info({ sockets: sockets.length }, 'shutdown: closing socket.io connections')
    const disconnected = sockets.map((socket) => once(socket, 'disconnect'))
    for (const socket of sockets) socket.conn.close()
    // Each socket saves its session as it goes: wait for that before the transport closes.
    await Promise.race([Promise.all(disconnected), new Promise((resolve) => setTimeout(resolve, DISCONNECTS_WITHIN_MS).unref())])
  })
}, {
  name: 'graceful-shutdown',
  // readiness first: its preClose hook marks the bridge as shutting down before this one runs.
  dependencies: ['readiness', 'socket-io']
})
