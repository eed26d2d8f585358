// Who may open a socket: a connection token (JWT) in `auth.token`, from an allowed origin.
// Sets `socket.data.userId` and `socket.data.rooms`, which subscriptions check rooms against.
import fp from 'fastify-plugin'
import { createSocketTokenVerifier, type SocketTokenVerifier } from '../src/auth/socket-tokens.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** Verifies socket tokens; null in open development mode (no BRIDGE_JWT_SECRET). */
    socketTokens: SocketTokenVerifier | null
  }
}

/** The `connect_error` message a refused client gets, whatever the reason (the log has it). */
export const UNAUTHORIZED = 'unauthorized'

export default fp(async function socketAuth (fastify) {
  const { jwtSecret, corsOrigins } = fastify.config

  // socket.io's `cors` option only covers polling; browsers do not apply CORS to WebSocket,
  // so the Origin header is checked here for both transports. Non-browser clients send none.
  if (corsOrigins !== true) {
    const allowed = new Set(corsOrigins)
    fastify.io.use((socket, next) => {
      const origin = socket.handshake.headers.origin
      if (origin === undefined || allowed.has(origin)) return next()
      fastify.log.info({ origin, address: socket.handshake.address }, 'socket refused: origin not in CORS_ORIGINS')
      next(new Error('origin not allowed'))
    })
  }

  if (jwtSecret === undefined) {
    fastify.decorate('socketTokens', null)
    fastify.log.warn('BRIDGE_JWT_SECRET is not set: OPEN MODE, any socket may connect without a token and join any room. ' +
      'Never run like this where real users connect (NODE_ENV=production refuses to).')
    return
  }

  const tokens = createSocketTokenVerifier(jwtSecret)
  fastify.decorate('socketTokens', tokens)

  fastify.io.use((socket, next) => {
    try {
      const grant = tokens.connection((socket.handshake.auth as { token?: unknown }).token)
      socket.data.userId = grant.userId
      socket.data.rooms = grant.rooms
      fastify.log.debug({ socketId: socket.id, userId: grant.userId }, 'socket authenticated')
      next()
    } catch (error) {
      // The reason and the client's address, never the token itself.
      const reason = error instanceof Error ? error.message : 'invalid token'
      fastify.log.info({ reason, address: socket.handshake.address }, 'socket refused')
      next(new Error(UNAUTHORIZED))
    }
  })
}, {
  name: 'socket-auth',
  dependencies: ['socket-io']
})
