// Keeps idle connections small: each one lets go of the HTTP request that opened it.
//
// Patches: engine.io's `Socket#request` (set to null once connected) and the `req` of the
// websocket upgrade's response object. `leanConnectionProblems` checks both, and the patch
// stays off (with one warning) when an upgrade changed them. Versions are pinned in
// package.json; test/plugins/patches/lean-connections.test.ts fails on a change.
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

/** What this patch needs of a connected socket's engine connection and does not find. */
export function leanConnectionProblems (conn: { request?: unknown }): string[] {
  const request = conn.request as Partial<IncomingMessage> | null | undefined
  return request !== null && typeof request === 'object' && typeof request.headers === 'object'
    ? []
    : ['engine.io Socket#request holds the IncomingMessage that opened the connection']
}

export default fp(async function leanConnections (fastify) {
  fastify.io.engine.use((request: IncomingMessage, response: unknown, next: () => void) => {
    // Only the websocket upgrade's response outlives its request; plain HTTP answers end.
    if (request.headers.upgrade !== undefined && typeof response === 'object' && response !== null && 'req' in response) {
      setImmediate(() => { (response as UpgradeResponse).req = null })
    }
    next()
  })
  let checked = false
  fastify.io.on('connection', (socket) => {
    if (!checked) {
      checked = true
      const problems = leanConnectionProblems(socket.conn)
      if (problems.length > 0) fastify.log.warn({ problems }, 'lean connections: engine.io internals changed')
    }
    process.nextTick(() => {
      (socket.conn as { request: IncomingMessage | null }).request = null
    })
  })
}, {
  name: 'lean-connections',
  dependencies: ['socket-io']
})
