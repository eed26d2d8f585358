// What `fastify.close()` does before the server stops: wait for publish requests already
// received to be answered (their events reach the sockets), then close the socket.io
// connections. Other requests (a stalled Swagger UI download) are not waited for: after a
// short grace their connections are closed.
//
// The whole sequence on SIGTERM/SIGINT (src/server.ts runs it within BRIDGE_SHUTDOWN_TIMEOUT):
// 1. readiness: /ready answers 503, new socket.io connections are refused;
//    Fastify answers 503 to new HTTP requests from then on;
// 2. here: publish requests in flight are answered, then every socket.io connection is closed;
// 3. Fastify stops listening and waits for the last connections to end, at most
//    SLOW_CLIENTS_GRACE_MS: then whatever is left is closed;
// 4. onClose hooks close the transport (Redis), socket.io and the rest.
import { once } from 'node:events'
import fp from 'fastify-plugin'

/** Longest wait for closed connections to be seen closed (their sessions saved for recovery). */
const DISCONNECTS_WITHIN_MS = 2000
/** How long other requests (downloads, a client that stopped reading) may go on once sockets are handed over. */
const SLOW_CLIENTS_GRACE_MS = 1000

/** Requests worth waiting for: publishes (section 1's /api, the Pusher HTTP API's /apps). */
function isPublish (url: string): boolean {
  return url.startsWith('/api/') || url.startsWith('/apps/')
}

export default fp(async function gracefulShutdown (fastify) {
  let inFlight = 0
  let onDrained: (() => void) | undefined

  fastify.addHook('onRequest', async (request, reply) => {
    if (!isPublish(request.url)) return
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
    // Fastify's close then waits for every HTTP connection; one that stopped reading a
    // download would hold it until BRIDGE_SHUTDOWN_TIMEOUT.
    setTimeout(() => { fastify.server.closeAllConnections() }, SLOW_CLIENTS_GRACE_MS).unref()
  })
}, {
  name: 'graceful-shutdown',
  // readiness first: its preClose hook marks the bridge as shutting down before this one runs.
  dependencies: ['readiness', 'socket-io']
})
