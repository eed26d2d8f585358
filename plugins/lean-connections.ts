// Keeps idle connections small: each one lets go of the HTTP request that opened it.
import type { IncomingMessage } from 'node:http'
import fp from 'fastify-plugin'

// Engine.IO keeps the request that opened a connection for the connection's whole life,
// twice over: as `conn.request`, and through the response object of a websocket upgrade,
// which stays reachable from the socket's `close` listeners. socket.io copies what it uses
// (headers, query, address, auth) into `socket.handshake` when the socket connects, so the
// request itself (stream state, raw headers, parsed query) is dead weight: about 1.3 KB of
// the 10-11 KB an idle websocket costs. Middleware and connection handlers still see it;
// it is dropped after they have run. The bridge serves one namespace, so no later
// namespace handshake needs it.

interface UpgradeResponse {
  req: IncomingMessage | null
}

export default fp(async function leanConnections (fastify) {
  fastify.io.engine.use((request: IncomingMessage, response: unknown, next: () => void) => {
    // Only the websocket upgrade's response outlives its request; plain HTTP answers end.
    if (request.headers.upgrade !== undefined && typeof response === 'object' && response !== null && 'req' in response) {
      setImmediate(() => { (response as UpgradeResponse).req = null })
    }
    next()
  })
  fastify.io.on('connection', (socket) => {
    process.nextTick(() => {
      (socket.conn as { request: IncomingMessage | null }).request = null
    })
  })
}, {
  name: 'lean-connections',
  dependencies: ['fastify-socket.io']
})
