// Keeps idle connections small: once connected, a connection lets go of the HTTP request that
// opened it (docs/performance.md), and `socket.request` becomes a stand-in keeping what
// socket.io's docs read of it: `headers`, `url`, `method`, `socket.remoteAddress`.
// Patches engine.io's `Socket#request` and the upgrade response's `req`, checked at start.
import type { IncomingMessage } from 'node:http'
import fp from 'fastify-plugin'
import type { Probe } from './self-check.ts'

// Engine.IO keeps the request for the connection's life twice over (`conn.request`, and the
// upgrade response reachable from `close` listeners); socket.io copied what it uses into
// `socket.handshake`. Middlewares and connection handlers still see the request itself.

interface UpgradeResponse {
  req: IncomingMessage | null
}

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

export function leanConnectionProblems (conn: { request?: unknown }): string[] {
  const request = conn.request as Partial<IncomingMessage> | null | undefined
  return request !== null && typeof request === 'object' && typeof request.headers === 'object'
    ? []
    : ['engine.io Socket#request holds the IncomingMessage that opened the connection']
}

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
