// socket.io on Fastify's HTTP server, as `fastify.io` (src/sockets/fastify-socket-io.ts), typed
// with the event maps; new connections are refused while shutting down or overloaded, from an
// origin not in CORS_ORIGINS, or past the cap of pending (not yet authenticated) ones.
import { ServerResponse, type IncomingMessage } from 'node:http'
import proxyAddr from '@fastify/proxy-addr'
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { fastifySocketIo, type SocketIoOptions } from '../../src/sockets/fastify-socket-io.ts'
import { originPolicy } from '../../src/http/origins.ts'
import { PendingConnections } from '../../src/sockets/pending-connections.ts'

/** Open connections of every protocol on this node: socket.io's, and the Pusher protocol's once it is there. */
export function openConnections (fastify: FastifyInstance): number {
  return fastify.io.engine.clientsCount + (fastify.hasDecorator('pusherProtocol') ? fastify.pusherProtocol?.size ?? 0 : 0)
}

export function refusal (fastify: FastifyInstance, request: IncomingMessage): 'shutting_down' | 'overloaded' | 'origin' | 'over_capacity' | undefined {
  if (fastify.readiness.shuttingDown) return 'shutting_down'
  if (fastify.overloaded()) return 'overloaded'
  const { maxConnections } = fastify.config
  if (maxConnections > 0 && openConnections(fastify) >= maxConnections) return 'over_capacity'
  // Browsers always send Origin (also on WebSocket, where CORS does not apply); other clients none.
  const origin = request.headers.origin
  const origins = originPolicy(fastify)
  if (origins.allows(origin)) return undefined
  origins.refused(origin as string, 'socket.io')
  return 'origin'
}

export function socketIoOptions (fastify: FastifyInstance): SocketIoOptions {
  return {
    // As for the HTTP API (plugins/external/cors.ts): credentials for listed origins only, so Echo's
    // long-polling from the app's origin carries the session cookie Laravel authorizes by.
    cors: { origin: fastify.config.corsOrigins, credentials: originPolicy(fastify).credentials },
    // The plugin below closes slow connects; socket.io's own timeout is a later backstop (it closes
    // politely, and a polling session closed politely lingers).
    connectTimeout: fastify.config.connectTimeoutMs + 1000,
    // Recovery is the transport's (src/transport/recovery.ts); the middlewares check a recovered
    // session again (token expiry, origin) before anything is sent to it.
    connectionStateRecovery: { maxDisconnectionDuration: fastify.config.recoveryWindowSeconds * 1000, skipMiddlewares: false },
    maxHttpBufferSize: 16 * 1024,
    // Refused before the handshake: the client's reconnection tries again, later or elsewhere.
    allowRequest: (request, callback) => {
      const reason = refusal(fastify, request)
      if (reason === undefined) return callback(null, true)
      fastify.metrics.socketConnectionsRefused.inc({ reason })
      callback(reason === 'origin' ? 'origin not allowed' : reason, false)
    },
    // plugins/app/graceful-shutdown.ts closes the connections, after requests in flight are answered.
    preClose: (done) => done()
  }
}

interface EngineConnection {
  request?: IncomingMessage
  close: (discard?: boolean) => void
  once: (event: 'close', listener: () => void) => void
}

function refuseBusy (fastify: FastifyInstance, response: object, message: string): void {
  const body = JSON.stringify({ code: 'TOO_MANY_PENDING_CONNECTIONS', message })
  if (response instanceof ServerResponse) {
    const reply = response
    reply.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1', connection: 'close' })
    reply.end(body)
    return
  }
  const socket = fastify.socketInternals.upgradeSocket(response)
  if (socket === undefined) return
  if (!socket.writable) {
    socket.destroy()
    return
  }
  const head = `HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`
  socket.end(head + body, () => socket.destroy())
}

/** Whether Engine.IO takes this request as a handshake: no `sid`, or an empty one (the last one counts). */
export function isHandshake (request: Pick<IncomingMessage, 'url'>): boolean {
  const sid = new URL(request.url ?? '/', 'http://bridge').searchParams.getAll('sid').at(-1)
  return sid === undefined || sid === ''
}

export default fp(async function socketIo (fastify) {
  await fastify.register(fastifySocketIo, socketIoOptions(fastify))

  const { connectTimeoutMs, maxPendingConnections, maxPendingConnectionsPerAddress, trustProxy } = fastify.config
  // A client's address is only known behind trusted proxies; otherwise only the global cap applies.
  const trusted = trustProxy.length > 0 ? proxyAddr.compile(trustProxy) : undefined
  const clientAddress = trusted === undefined ? () => undefined : (request: IncomingMessage) => proxyAddr(request, trusted)
  const pending = new PendingConnections(maxPendingConnections, maxPendingConnectionsPerAddress)

  fastify.io.engine.use((request: IncomingMessage, response: object, next: () => void) => {
    if (!isHandshake(request)) return next()
    const full = pending.full(clientAddress(request))
    if (full === undefined) return next()
    fastify.metrics.socketConnectionsRefused.inc({ reason: full === 'address' ? 'pending_per_address' : 'pending' })
    refuseBusy(fastify, response, full === 'address'
      ? 'too many connections from this address have not completed the socket.io connect yet; try again later'
      : 'too many connections have not completed the socket.io connect yet; try again later')
  })
  // Pending from the handshake until the socket.io connect completes or the connection closes.
  fastify.io.engine.on('connection', (conn: EngineConnection) => {
    const address = conn.request === undefined ? undefined : clientAddress(conn.request)
    pending.add(conn, address)
    // Discarded, not closed politely: a polling session that never polls again would linger.
    setTimeout(() => { if (pending.has(conn)) conn.close(true) }, connectTimeoutMs).unref()
    conn.once('close', settleOnClose)
  })
  function settleOnClose (this: EngineConnection): void {
    pending.settle(this)
  }
  fastify.io.on('connection', (socket) => {
    pending.settle(socket.conn)
    // Settled: the connection's close has nothing left to settle, and its listener would stay for the connection's life.
    socket.conn.removeListener('close', settleOnClose)
  })

  fastify.metrics.gauge('bridge_socket_connections', 'socket.io connections open on this node', () => fastify.io.of('/').sockets.size)
  fastify.metrics.gauge('bridge_socket_pending_connections',
    'Engine.IO connections on this node that have not completed the socket.io connect (authentication) yet',
    () => pending.size)
}, {
  name: 'socket-io',
  dependencies: ['readiness', 'under-pressure', 'metrics', 'socket-internals']
})
