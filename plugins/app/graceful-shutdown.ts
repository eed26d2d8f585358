// What `fastify.close()` does before the server stops, the second of the shutdown steps
// (docs/operations.md#shutdown): publishes already received are answered (those still arriving
// after PUBLISH_GRACE_MS get a 503, so a trickling client cannot hold the hand-over up), then
// the socket.io connections are closed; other requests get a short grace.
import { once } from 'node:events'
import fp from 'fastify-plugin'
import type { FastifyRequest } from 'fastify'
import { ShuttingDown } from '../../src/http/errors.ts'

const PUBLISH_GRACE_MS = 2000
/** Longest wait for closed connections to be seen closed (their sessions saved for recovery). */
const DISCONNECTS_WITHIN_MS = 2000
const SLOW_CLIENTS_GRACE_MS = 1000

/** Requests worth waiting for: publishes (the HTTP API's /api, the Pusher HTTP API's /apps). */
function isPublish (url: string): boolean {
  return url.startsWith('/api/') || url.startsWith('/apps/')
}

function delay (ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref())
}

/** Fails the body of a publish not arrived whole: the error handler answers 503 and closes the connection. */
function refuseUnfinished (request: FastifyRequest): void {
  const body = request.raw
  if (body.complete || body.listenerCount('error') === 0) return
  body.emit('error', new ShuttingDown('the bridge is shutting down and the request body had not arrived whole; nothing was published'))
}

export default fp(async function gracefulShutdown (fastify) {
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
      for (const request of inFlight) refuseUnfinished(request)
    }
    // Closing the transport, not `socket.disconnect()`: a client told "io server disconnect"
    // stays offline, one that lost its transport reconnects (to another node) and recovers.
    const sockets = [...fastify.io.of('/').sockets.values()]
    fastify.log.info({ sockets: sockets.length }, 'shutdown: closing socket.io connections')
    const disconnected = sockets.map((socket) => once(socket, 'disconnect'))
    for (const socket of sockets) socket.conn.close()
    // Each socket saves its session as it goes: wait for that before the transport closes.
    await Promise.race([Promise.all(disconnected), delay(DISCONNECTS_WITHIN_MS)])
    // Fastify's close then waits for every connection; a stalled download would hold it.
    setTimeout(() => { fastify.server.closeAllConnections() }, SLOW_CLIENTS_GRACE_MS).unref()
  })
}, {
  name: 'graceful-shutdown',
  // readiness first: its preClose hook marks the bridge as shutting down before this one runs.
  dependencies: ['readiness', 'socket-io']
})
