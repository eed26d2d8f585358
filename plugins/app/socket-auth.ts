// Who may open a socket: a connection token (JWT) in `auth.token` or Echo's `bearerToken`
// (`auth.headers.Authorization`), from an allowed origin; with BRIDGE_AUTH_ENDPOINT a connection
// may come without one. Refusals are counted, and logged at most once a second per reason.
import fp from 'fastify-plugin'
import { bearerToken } from '../../src/auth/bearer-token.ts'
import { createSocketTokenVerifier, type SocketTokenVerifier } from '../../src/auth/socket-tokens.ts'
import { originPolicy } from '../../src/http/origins.ts'
import { createRateLimitedLog } from '../../src/ops/rate-limited-log.ts'

declare module 'fastify' {
  interface FastifyInstance {
    socketTokens: SocketTokenVerifier | null
  }
}

/** A connection's `handshake.auth` once its token is verified: one shared empty object. */
const VERIFIED = Object.freeze({})

/** The `connect_error` message a refused client gets, whatever the reason (the log has it). */
export const UNAUTHORIZED = 'unauthorized'

export function handshakeTokens (auth: unknown): { token: unknown, bearer: string | undefined } {
  const { token, headers } = (typeof auth === 'object' && auth !== null ? auth : {}) as { token?: unknown, headers?: unknown }
  let bearer: string | undefined
  if (typeof headers === 'object' && headers !== null) {
    for (const [name, value] of Object.entries(headers)) {
      if (name.toLowerCase() === 'authorization' && typeof value === 'string') bearer = bearerToken(value)
    }
  }
  return { token, bearer }
}

function connectionData (grant: ReturnType<SocketTokenVerifier['connection']>) {
  const data: { userId: string, rooms: readonly string[], userInfo?: unknown } = { userId: grant.userId, rooms: grant.rooms }
  if (grant.userInfo !== undefined) data.userInfo = grant.userInfo
  return data
}

export default fp(async function socketAuth (fastify) {
  const { jwtSecret } = fastify.config
  const refused = fastify.metrics.socketConnectionsRefused
  const logRefusal = createRateLimitedLog()

  // The same rule as the Engine.IO handshake's (plugins/external/socket-io.ts), at the socket.io
  // connect: browsers do not apply CORS to WebSocket. Non-browser clients send no Origin.
  const origins = originPolicy(fastify)
  if (fastify.config.corsOrigins !== true) {
    fastify.io.use((socket, next) => {
      const origin = socket.handshake.headers.origin
      if (origins.allows(origin)) return next()
      refused.inc({ reason: 'origin' })
      origins.refused(origin as string, 'socket.io')
      next(new Error('origin not allowed'))
    })
  }

  if (jwtSecret === undefined) {
    fastify.decorate('socketTokens', null)
    if (fastify.config.authEndpoint !== undefined) {
      // Laravel guards Echo's channels; the bridge's rooms stay shut (src/protocols/bridge/subscribe.ts).
      fastify.log.info('BRIDGE_JWT_SECRET is not set: sockets connect without a token, Laravel (BRIDGE_AUTH_ENDPOINT) authorizes Echo\'s private and presence channels, ' +
        'and the bridge\'s own rooms (subscribe { room }) are refused')
      return
    }
    fastify.log.warn('BRIDGE_JWT_SECRET is not set: OPEN MODE, any socket may connect without a token and join any room. ' +
      'Never run like this where real users connect (NODE_ENV=production refuses to).')
    return
  }

  const tokens = createSocketTokenVerifier(jwtSecret)
  fastify.decorate('socketTokens', tokens)

  const laravelAuthorizes = fastify.config.authEndpoint !== undefined

  fastify.io.use((socket, next) => {
    const { token, bearer } = handshakeTokens(socket.handshake.auth)
    // With Laravel authorizing, a bearer token is usually Laravel's own (Sanctum, Passport): it
    // identifies the connection only when it is the bridge's JWT.
    if (laravelAuthorizes && token === undefined) {
      try {
        if (bearer !== undefined) Object.assign(socket.data, connectionData(tokens.connection(bearer)))
      } catch {
      }
      return next()
    }
    try {
      const grant = tokens.connection(token ?? bearer)
      Object.assign(socket.data, connectionData(grant))
      // Verified: the token is not kept for the connection's life (socket.data has what it granted).
      socket.handshake.auth = VERIFIED
      fastify.log.debug({ socketId: socket.id, userId: grant.userId }, 'socket authenticated')
      next()
    } catch (error) {
      // The reason and the client's address, never the token itself.
      const reason = error instanceof Error ? error.message : 'invalid token'
      refused.inc({ reason: 'unauthorized' })
      logRefusal('token', (notLogged) => {
        fastify.log.info({ reason, address: socket.handshake.address, notLogged }, 'socket refused')
      })
      next(new Error(UNAUTHORIZED))
    }
  })
}, {
  name: 'socket-auth',
  dependencies: ['socket-io', 'metrics']
})
