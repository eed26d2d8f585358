// `fastify.echoAuthorization`: who decides on private and presence Echo channels, once at start:
// Laravel's `/broadcasting/auth` (BRIDGE_AUTH_ENDPOINT), else the connection's JWT, else nobody
// (open development mode). Calls to Laravel are bounded per node and per connection.
import { randomBytes } from 'node:crypto'
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { Counter } from 'prom-client'
import { createCallLimiter, type CallRefusal } from '../../src/protocols/echo/authorization/call-limiter.ts'
import { createForwardedFor } from '../../src/protocols/echo/authorization/forwarded-for.ts'
import { createLaravelAuthorizer } from '../../src/protocols/echo/authorization/laravel-authorizer.ts'
import { openAuthorization, tokenAuthorization } from '../../src/protocols/echo/authorization/token-authorizer.ts'
import type { EchoAuthorization } from '../../src/protocols/echo/context.ts'
import type { BridgeSocket } from '../../src/schemas/socket.ts'

declare module 'fastify' {
  interface FastifyInstance {
    echoAuthorization: EchoAuthorization
  }
}

/** Calls of one connection in flight or waiting; a page's other subscriptions queue behind them. */
export const CALLS_PER_CONNECTION = 4
/** The node-wide wait in front of the BRIDGE_AUTH_CONCURRENCY slots holds this many calls per slot. */
export const WAITING_PER_SLOT = 4
const TOO_MANY_REQUESTS = 429

/** Kept in the socket's data, so a recovered session keeps it. */
function guestIdOf (socket: BridgeSocket): string {
  socket.data.echo ??= { grants: [] }
  socket.data.echo.guestId ??= `guest-${randomBytes(6).toString('hex')}`
  return socket.data.echo.guestId
}

function laravelAuthorization (fastify: FastifyInstance, endpoint: string): EchoAuthorization {
  const { authTimeoutMs, authConcurrency, maxRoomsPerSocket, pusher, trustProxy } = fastify.config
  const laravel = createLaravelAuthorizer({ endpoint, timeoutMs: authTimeoutMs, pusher, log: fastify.log })
  const forwardedFor = createForwardedFor(trustProxy)
  const limits = {
    concurrency: authConcurrency,
    maxWaiting: authConcurrency * WAITING_PER_SLOT,
    waitTimeoutMs: authTimeoutMs,
    perConnection: CALLS_PER_CONNECTION,
    // What src/protocols/echo/subscribe.ts lets a connection have pending; this holds however it unsubscribes.
    maxPerConnection: maxRoomsPerSocket
  }
  const calls = createCallLimiter(limits)
  const { metrics } = fastify
  metrics.gauge('bridge_auth_endpoint_calls_in_flight', 'Calls to BRIDGE_AUTH_ENDPOINT in flight on this node', () => calls.inFlight)
  metrics.gauge('bridge_auth_endpoint_calls_waiting', 'Calls to BRIDGE_AUTH_ENDPOINT waiting for one of the BRIDGE_AUTH_CONCURRENCY slots', () => calls.waiting)
  metrics.gauge('bridge_auth_endpoint_calls_queued', 'Calls to BRIDGE_AUTH_ENDPOINT queued behind their connection\'s share', () => calls.queued)
  const refusals = new Counter({
    name: 'bridge_auth_endpoint_refusals_total',
    help: 'Subscriptions refused 429 without calling BRIDGE_AUTH_ENDPOINT, by reason',
    labelNames: ['reason'] as const,
    registers: [metrics.registry]
  })
  const reasons: Record<Exclude<CallRefusal, 'released'>, string> = {
    node_busy: `${limits.concurrency} calls to BRIDGE_AUTH_ENDPOINT in flight and ${limits.maxWaiting} waiting on this node (BRIDGE_AUTH_CONCURRENCY)`,
    wait_timeout: `no call to BRIDGE_AUTH_ENDPOINT free within BRIDGE_AUTH_TIMEOUT (${authTimeoutMs} ms)`,
    connection_busy: `a connection may have at most ${maxRoomsPerSocket} authorizations under way (BRIDGE_MAX_ROOMS_PER_SOCKET)`
  }
  /** From the first refusal for a full node until calls run again with nobody waiting: logged once. */
  let saturated = false

  // Shared by every socket (called with it as `this`): a socket that goes gives up its calls.
  const watched = new WeakSet<BridgeSocket>()
  function releaseCalls (this: BridgeSocket): void {
    calls.release(this)
  }

  return {
    mode: 'laravel',
    async authorize (socket, channel, kind, headers) {
      if (!socket.connected) return { allowed: false, status: TOO_MANY_REQUESTS, reason: 'the connection is gone' }
      if (!watched.has(socket)) {
        watched.add(socket)
        socket.once('disconnect', releaseCalls)
      }
      const { handshake } = socket
      const outcome = await calls.run(socket, (signal) => laravel.authorize({
        channel,
        kind,
        socketId: socket.id,
        cookie: handshake.headers.cookie,
        headers,
        forwardedFor: forwardedFor(handshake.address, handshake.headers['x-forwarded-for'])
      }, signal))
      if (outcome.ran) {
        if (saturated && calls.waiting === 0) {
          saturated = false
          fastify.log.info('calls to BRIDGE_AUTH_ENDPOINT are within their bounds again')
        }
        return outcome.value
      }
      if (outcome.reason === 'released') return { allowed: false, status: TOO_MANY_REQUESTS, reason: 'the connection is gone' }
      refusals.inc({ reason: outcome.reason })
      if (!saturated && outcome.reason !== 'connection_busy') {
        saturated = true
        fastify.log.warn({ reason: reasons[outcome.reason] }, 'calls to BRIDGE_AUTH_ENDPOINT at their bound: private and presence subscriptions past it are refused 429')
      }
      return { allowed: false, status: TOO_MANY_REQUESTS, reason: reasons[outcome.reason] }
    }
  }
}

export default fp(async function echoAuthorization (fastify) {
  const { authEndpoint } = fastify.config

  let authorization: EchoAuthorization
  if (authEndpoint !== undefined) {
    authorization = laravelAuthorization(fastify, authEndpoint)
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
    // The socket warning of plugins/app/socket-auth.ts already says the bridge runs open.
    fastify.log.info('Laravel Echo: no BRIDGE_AUTH_ENDPOINT nor BRIDGE_JWT_SECRET, so every private and presence channel is allowed; presence members are per-connection guests')
  }
  fastify.decorate('echoAuthorization', authorization)
}, {
  name: 'echo-authorization',
  dependencies: ['socket-auth', 'metrics']
})
