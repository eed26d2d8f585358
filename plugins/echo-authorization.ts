// `fastify.echoAuthorization`: who decides whether a socket may subscribe to a private or
// presence Echo channel. Decided once at start: Laravel's `/broadcasting/auth` when
// BRIDGE_AUTH_ENDPOINT is set, else the connection's JWT, else (open development mode) nobody.
import { randomBytes } from 'node:crypto'
import fp from 'fastify-plugin'
import type { ChannelKind } from '../src/echo/channel-name.ts'
import { createLaravelAuthorizer, type Authorization } from '../src/echo/laravel-authorizer.ts'
import type { ForwardedHeaders } from '../src/echo/requests.ts'
import { openAuthorization, tokenAuthorization } from '../src/echo/token-authorizer.ts'
import type { BridgeSocket } from '../src/schemas/socket.ts'

declare module 'fastify' {
  interface FastifyInstance {
    echoAuthorization: EchoAuthorization
  }
}

export type AuthorizationMode = 'laravel' | 'tokens' | 'open'

export interface EchoAuthorization {
  mode: AuthorizationMode
  /**
   * The decision on one subscription to a private or presence channel: allowed (with the
   * presence member) or refused with the status for `subscription_error`. Never rejects.
   */
  authorize: (socket: BridgeSocket, channel: string, kind: Exclude<ChannelKind, 'public'>, headers: ForwardedHeaders) => Promise<Authorization>
}

/** The connection's presence id in open mode, kept in its data so a recovered session keeps it. */
function guestIdOf (socket: BridgeSocket): string {
  socket.data.echo ??= { grants: [] }
  socket.data.echo.guestId ??= `guest-${randomBytes(6).toString('hex')}`
  return socket.data.echo.guestId
}

export default fp(async function echoAuthorization (fastify) {
  const { authEndpoint, authTimeoutMs, pusher } = fastify.config

  let authorization: EchoAuthorization
  if (authEndpoint !== undefined) {
    const laravel = createLaravelAuthorizer({ endpoint: authEndpoint, timeoutMs: authTimeoutMs, pusher, log: fastify.log })
    authorization = {
      mode: 'laravel',
      authorize: (socket, channel, kind, headers) => laravel.authorize({
        channel,
        kind,
        socketId: socket.id,
        cookie: socket.handshake.headers.cookie,
        headers
      })
    }
  } else if (fastify.socketTokens !== null) {
    authorization = {
      mode: 'tokens',
      authorize: async (socket, channel, kind) => tokenAuthorization(channel, kind, socket.data)
    }
  } else {
    authorization = {
      mode: 'open',
      authorize: async (socket, _channel, kind) => openAuthorization(kind, guestIdOf(socket))
    }
    // The socket warning of plugins/socket-auth.ts already says the bridge runs open.
    fastify.log.info('Laravel Echo: no BRIDGE_AUTH_ENDPOINT nor BRIDGE_JWT_SECRET, so every private and presence channel is allowed; presence members are per-connection guests')
  }
  fastify.decorate('echoAuthorization', authorization)
}, {
  name: 'echo-authorization',
  dependencies: ['socket-auth']
})
