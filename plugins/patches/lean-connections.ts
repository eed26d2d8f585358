// Keeps idle connections small: once connected, a connection lets go of the HTTP request that
// opened it, and `socket.request` becomes a small stand-in with what socket.io's documentation
// reads of it: `headers`, `url`, `method` and the client's address (`socket.remoteAddress`).
//
// Patches: engine.io's `Socket#request` (replaced once connected) and the `req` of the
// websocket upgrade's response object (set to null). `leanConnectionProblems` and
// `upgradeRequestProblems` name what is missing, and the start fails then
// (plugins/patches/self-check.ts). Versions are pinned in package.json.
import type { IncomingMessage } from 'node:http'
import fp from 'fastify-plugin'
import type { Probe } from './self-check.ts'

// Engine.IO keeps the request that opened a connection for the connection's whole life,
// twice over: as `conn.request`, and through the response object of a websocket upgrade,
// which stays reachable from the socket's `close` listeners. socket.io copies what it uses
// (headers, query, address, auth) into `socket.handshake` when the socket connects, so the
// rest of the request (stream state, raw headers, parsed query) is dead weight
// (docs/performance.md). Middleware and connection handlers still see the request itself.

interface UpgradeResponse {
  req: IncomingMessage | null
}

/** What `socket.request` keeps once the connection is up: the parts socket.io's docs use. */
export interface RequestStandIn {
  headers: IncomingMessage['headers']
  url: string | undefined
  method: string | undefined
  socket: { remoteAddress: string | undefined, remotePort: number | undefined }
}

export function requestStandIn (request: IncomingMessage): RequestStandIn {
  const { remoteAddress, remotePort } = request.socket ?? {}
  return { headers: request.headers, url: request.url, method: request.method, socket: { remoteAddress, remotePort } }
}

/** What this patch needs of a connected socket's engine connection and does not find. */
export function leanConnectionProblems (conn: { request?: unknown }): string[] {
  const request = conn.request as Partial<IncomingMessage> | null | undefined
  return request !== null && typeof request === 'object' && typeof request.headers === 'object'
    ? []
    : ['engine.io Socket#request holds the IncomingMessage that opened the connection']
}

/** What this patch needs of Engine.IO's response to a websocket upgrade and does not find. */
export function upgradeRequestProblems ({ upgrade }: Pick<Probe, 'upgrade'>): string[] {
  return (upgrade.response as Partial<UpgradeResponse>).req === upgrade.request
    ? []
    : ['engine.io\'s upgrade response holds the request as `req`']
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
    // After every connection handler (the bridge's and socket.io's) has run.
    process.nextTick(() => {
      const conn = socket.conn as { request: IncomingMessage | RequestStandIn }
      if (conn.request !== null && 'complete' in conn.request) conn.request = requestStandIn(conn.request)
    })
  })
}, {
  name: 'lean-connections',
  dependencies: ['socket-io', 'self-check']
})
