// What `fastify.close()` does before the server stops: wait for publish requests already
// received to be answered (their events reach the sockets), at most PUBLISH_GRACE_MS, then
// close the socket.io connections. A publish whose body is still arriving then is answered
// 503, so a client trickling one cannot hold the hand-over up. Other requests (a stalled
// Swagger UI download) are not waited for: after a short grace their connections are closed.
//
// The whole sequence on SIGTERM/SIGINT (src/server.ts runs it within BRIDGE_SHUTDOWN_TIMEOUT):
// 1. readiness: /ready answers 503, new socket.io connections are refused;
//    Fastify answers 503 to new HTTP requests from then on;
// 2. here: publish requests in flight are answered (for at most PUBLISH_GRACE_MS; those not
//    arrived whole by then get a 503), then every socket.io connection is closed;
// 3. Fastify stops listening and waits for the last connections to end, at most
//    SLOW_CLIENTS_GRACE_MS: then whatever is left is closed;
// 4. onClose hooks close the transport (Redis), socket.io and the rest.
import { once } from 'node:events'
import fp from 'fastify-plugin'
import type { FastifyRequest } from 'fastify'
import { ShuttingDown } from '../../src/http/errors.ts'

/** Longest wait for publishes in flight before the sockets are handed over anyway. */
const PUBLISH_GRACE_MS = 2000
/** Longest wait for closed connections to be seen closed (their sessions saved for recovery). */
const DISCONNECTS_WITHIN_MS = 2000
/** How long other requests (downloads, a client that stopped reading) may go on once sockets are handed over. */
const SLOW_CLIENTS_GRACE_MS = 1000

/** Requests worth waiting for: publishes (section 1's /api, the Pusher HTTP API's /apps). */
function isPublish (url: string): boolean {
  return url.startsWith('/api/') || url.startsWith('/apps/')
}

function delay (ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref())
}

/**
 * Answers 503 to a publish whose body has not arrived whole. Its body stream fails, so
 * Fastify's body reader hands the error to the error handler, which answers 503 with
 * Retry-After, and closes the connection. A request whose body nobody reads yet is left to
 * the closing of connections (step 3).
 */
function refuseUnfinished (request: FastifyRequest): void {
  const body = request.raw
  if (body.complete || body.listenerCount('error') === 0) return
  body.emit('error', new ShuttingDown('the bridge is shutting down and the request body had not arrived whole; nothing was published'))
}

export default fp(async function gracefulShutdown (fastify) {
  /** Publishes received and not answered yet. */
  const inFlight = new Set<FastifyRequest>()
  let onDrained: (() => void) | undefined

  fastify.addHook('onRequest', async (request, reply) => {
    if (!isPublish(request.url)) return
    inFlight.add(request)
    // 'close' comes exactly once: when answered, or when the client went away first.
    reply.raw.once('close', () => {
      inFlight.delete(request)
      if (inFlight.size === 0) onDrained?.()
    })
  })

  fastify.addHook('preClose', async () => {
    if (inFlight.size > 0) {
      fastify.log.info({ inFlight: inFlight.size }, 'shutdown: answering requests in flight')
      await Promise.race([new Promise<void>((resolve) => { onDrained = resolve }), delay(PUBLISH_GRACE_MS)])
      // Those whose body is whole are being answered; one still arriving would hold the hand-over up.
      for (const request of inFlight) refuseUnfinished(request)
    }
    // Closing the transport, not `socket.disconnect()`: a client told "io server disconnect"
    // stays offline, while one that lost its transport reconnects, through the load balancer
    // to another node. Buffered events are flushed before the transport closes.
    const sockets = [...fastify.io.of('/').sockets.values()]
    fastify.log.info({ sockets: sockets.length }, 'shutdown: closing socket.io connections')
    const disconnected = sockets.map((socket) => once(socket, 'disconnect'))
    for (const socket of sockets) socket.conn.close()
    // Each socket saves its session as it goes: wait for that before the transport closes.
    await Promise.race([Promise.all(disconnected), delay(DISCONNECTS_WITHIN_MS)])
    // Fastify's close then waits for every HTTP connection; one that stopped reading a
    // download would hold it until BRIDGE_SHUTDOWN_TIMEOUT.
    setTimeout(() => { fastify.server.closeAllConnections() }, SLOW_CLIENTS_GRACE_MS).unref()
  })
}, {
  name: 'graceful-shutdown',
  // readiness first: its preClose hook marks the bridge as shutting down before this one runs.
  dependencies: ['readiness', 'socket-io']
})
