// socket.io on the same HTTP server as Fastify, as `fastify.io` (src/fastify-socket-io.ts), typed
// with the event maps; new connections are refused while shutting down or overloaded, from
// an origin not in CORS_ORIGINS, or past the cap of pending (not yet authenticated) ones.
import { ServerResponse, type IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import proxyAddr from '@fastify/proxy-addr'
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { fastifySocketIo, type SocketIoOptions } from '../src/fastify-socket-io.ts'
import { PendingConnections } from '../src/pending-connections.ts'
import { RECOVERY_WINDOW_MS } from '../src/transport/recovery.ts'

/** Why a new connection is refused now, if it is. */
function refusal (fastify: FastifyInstance, request: IncomingMessage): 'shutting_down' | 'overloaded' | 'origin' | undefined {
  if (fastify.readiness.shuttingDown) return 'shutting_down'
  if (fastify.overloaded()) return 'overloaded'
  const { corsOrigins } = fastify.config
  // Checked at the handshake, before Engine.IO keeps anything for the client. Browsers always
  // send Origin (also on WebSocket, where CORS does not apply); other clients send none.
  const origin = request.headers.origin
  if (corsOrigins !== true && origin !== undefined && !corsOrigins.includes(origin)) return 'origin'
  return undefined
}

export function socketIoOptions (fastify: FastifyInstance): SocketIoOptions {
  return {
    cors: { origin: fastify.config.corsOrigins },
    // A connection that has not completed the socket.io connect (token checked) in time is
    // closed by the plugin below; socket.io's own timeout is a backstop, later, because it
    // closes politely, and a polling session closed politely lingers for 30 s.
    connectTimeout: fastify.config.connectTimeoutMs + 1000,
    // A client back within the window gets its rooms, its data and the events it missed
    // (`socket.recovered`), from any node: the transport's adapter does it
    // (src/transport/recovery.ts). The middlewares check it again as a new connection (token
    // expiry, origin) before anything is sent to it.
    connectionStateRecovery: { maxDisconnectionDuration: RECOVERY_WINDOW_MS, skipMiddlewares: false },
    // Clients only send small subscribe/unsubscribe messages.
    maxHttpBufferSize: 16 * 1024,
    // Refused before the handshake: the client's reconnection (with back-off) tries again,
    // here later or on another node.
    allowRequest: (request, callback) => {
      const reason = refusal(fastify, request)
      if (reason === undefined) return callback(null, true)
      fastify.metrics.socketConnectionsRefused.inc({ reason })
      callback(reason === 'origin' ? 'origin not allowed' : reason, false)
    },
    // plugins/graceful-shutdown.ts closes the connections, after requests in flight are answered.
    preClose: (done) => done()
  }
}

/** What this plugin uses of an Engine.IO connection. */
interface EngineConnection {
  request?: IncomingMessage
  close: (discard?: boolean) => void
  once: (event: 'close', listener: () => void) => void
}

/** Answers a refused handshake 503 (polling) or closes it with a 503 status line (websocket upgrade). */
function refuseBusy (response: unknown, message: string): void {
  const body = JSON.stringify({ code: 'TOO_MANY_PENDING_CONNECTIONS', message })
  if (response instanceof ServerResponse) {
    const reply = response
    reply.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1', connection: 'close' })
    reply.end(body)
    return
  }
  // Engine.IO's stand-in response of an upgrade: the raw socket is all there is.
  const socket = (response as { socket?: Socket }).socket
  if (socket === undefined) return
  if (!socket.writable) {
    socket.destroy()
    return
  }
  const head = `HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`
  socket.end(head + body, () => socket.destroy())
}

/**
 * Whether Engine.IO will take this request as a handshake: its query's `sid` is absent or
 * empty, the last one counting when repeated (Engine.IO reads the query the same way).
 */
export function isHandshake (request: Pick<IncomingMessage, 'url'>): boolean {
  const sid = new URL(request.url ?? '/', 'http://bridge').searchParams.getAll('sid').at(-1)
  return sid === undefined || sid === ''
}

export default fp(async function socketIo (fastify) {
  await fastify.register(fastifySocketIo, socketIoOptions(fastify))

  const { connectTimeoutMs, maxPendingConnections, maxPendingConnectionsPerAddress, trustProxy } = fastify.config
  // The client's address is only known behind proxies the operator trusts; without them, one
  // address may be a whole office (or the load balancer), so only the global cap applies.
  const trusted = trustProxy.length > 0 ? proxyAddr.compile(trustProxy) : undefined
  const clientAddress = trusted === undefined ? () => undefined : (request: IncomingMessage) => proxyAddr(request, trusted)
  const pending = new PendingConnections(maxPendingConnections, maxPendingConnectionsPerAddress)

  // Past the cap, handshakes are refused before Engine.IO creates a session for them. Engine.IO
  // middlewares run for every request; only a handshake (no `sid`) is counted.
  fastify.io.engine.use((request: IncomingMessage, response: unknown, next: () => void) => {
    if (!isHandshake(request)) return next()
    const full = pending.full(clientAddress(request))
    if (full === undefined) return next()
    fastify.metrics.socketConnectionsRefused.inc({ reason: full === 'address' ? 'pending_per_address' : 'pending' })
    refuseBusy(response, full === 'address'
      ? 'too many connections from this address have not completed the socket.io connect yet; try again later'
      : 'too many connections have not completed the socket.io connect yet; try again later')
  })
  // Pending from the Engine.IO handshake until the socket.io connect completes or the
  // connection closes (connectTimeout closes the ones that never complete it).
  fastify.io.engine.on('connection', (conn: EngineConnection) => {
    const address = conn.request === undefined ? undefined : clientAddress(conn.request)
    pending.add(conn, address)
    // Discarded, not closed politely: a polling session that never polls again would linger
    // for Engine.IO's 30 s close timeout.
    setTimeout(() => { if (pending.has(conn)) conn.close(true) }, connectTimeoutMs).unref()
    conn.once('close', settleOnClose)
  })
  /** Shared by every connection (called with it as `this`): nothing kept per connection. */
  function settleOnClose (this: EngineConnection): void {
    pending.settle(this)
  }
  fastify.io.on('connection', (socket) => { pending.settle(socket.conn) })

  fastify.metrics.gauge('bridge_socket_connections', 'socket.io connections open on this node', () => fastify.io.of('/').sockets.size)
  fastify.metrics.gauge('bridge_socket_pending_connections',
    'Engine.IO connections on this node that have not completed the socket.io connect (authentication) yet',
    () => pending.size)
}, {
  name: 'socket-io',
  dependencies: ['readiness', 'under-pressure', 'metrics']
})
