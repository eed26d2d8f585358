// The Pusher channels protocol (version 7: pusher-js, Laravel Echo's `reverb` and `pusher`
// connectors) on the bridge's own port, at `/app/{key}` (src/protocols/pusher/): the same channels,
// presence, whispers and delivery as the socket.io protocols, through `fastify.transport`.
// Needs the Pusher app of BRIDGE_PUSHER_APP_ID, _KEY and _SECRET; without it `/app/…` is 404.
import fp from 'fastify-plugin'
import { Counter } from 'prom-client'
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { pusherClientEvent } from '../../src/protocols/pusher/client-event.ts'
import { appKeyOf, createPusherServer, refuseUpgrade, type PusherServer } from '../../src/protocols/pusher/connection.ts'
import type { PusherMetrics, PusherProtocolContext } from '../../src/protocols/pusher/context.ts'
import { pusherDispatcher } from '../../src/protocols/pusher/dispatch.ts'
import { pusherPing, pusherPong } from '../../src/protocols/pusher/ping.ts'
import { pusherSignin } from '../../src/protocols/pusher/signin.ts'
import { pusherSubscribe } from '../../src/protocols/pusher/subscribe.ts'
import { pusherUnsubscribe } from '../../src/protocols/pusher/unsubscribe.ts'
import { refusal } from '../external/socket-io.ts'
import { pusherSocketId } from '../patches/pusher-socket-id.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** The Pusher-protocol server, when a Pusher app is configured. */
    pusherProtocol: PusherServer | undefined
  }
}

export default fp(async function pusherProtocol (fastify) {
  const { config, transport, log } = fastify
  const app = config.pusher
  let server: PusherServer | undefined

  if (app !== undefined) {
    const registers = [fastify.metrics.registry]
    const metrics: PusherMetrics = {
      subscriptions: new Counter({ name: 'bridge_pusher_subscriptions_total', help: 'Pusher-protocol subscriptions made, by channel kind', labelNames: ['kind'] as const, registers }),
      refusals: new Counter({ name: 'bridge_pusher_subscription_refusals_total', help: 'Pusher-protocol subscriptions refused (pusher:subscription_error), by type', labelNames: ['reason'] as const, registers }),
      clientEventsRelayed: new Counter({ name: 'bridge_pusher_client_events_relayed_total', help: 'Pusher-protocol client events relayed to a channel\'s other sockets', registers }),
      clientEventsDropped: new Counter({ name: 'bridge_pusher_client_events_dropped_total', help: 'Pusher-protocol client events dropped, by reason', labelNames: ['reason'] as const, registers }),
      errors: new Counter({ name: 'bridge_pusher_errors_total', help: 'pusher:error frames sent, by code', labelNames: ['code'] as const, registers })
    }
    const context: PusherProtocolContext = {
      channels: transport.pusher,
      deliver: transport.deliver,
      app,
      maxRoomsPerSocket: config.maxRoomsPerSocket,
      whispers: config.whispers,
      metrics,
      log
    }
    const onFrame = pusherDispatcher(context, {
      'pusher:ping': pusherPing(context),
      'pusher:pong': pusherPong(),
      'pusher:subscribe': pusherSubscribe(context),
      'pusher:unsubscribe': pusherUnsubscribe(context),
      'pusher:signin': pusherSignin(context),
      clientEvent: pusherClientEvent(context)
    })
    const pusherServer = createPusherServer({
      context,
      newSocketId: pusherSocketId,
      activityTimeoutSeconds: config.pusherActivityTimeout,
      maxSubscribesPerSecond: config.maxSubscribesPerSecond,
      maxWhispersPerSecond: config.maxWhispersPerSecond,
      maxConnections: config.maxConnections,
      otherConnections: () => fastify.io.engine.clientsCount,
      onFrame,
      onRefused: (reason) => fastify.metrics.socketConnectionsRefused.inc({ reason: `pusher_${reason}` })
    })
    server = pusherServer
    fastify.metrics.gauge('bridge_pusher_connections', 'Pusher-protocol connections open on this node', () => pusherServer.size)
    // Before the transport closes (its onClose): members leave while the backplane can say so.
    fastify.addHook('preClose', async () => {
      log.info({ connections: pusherServer.size }, 'shutdown: closing Pusher-protocol connections (4200: reconnect elsewhere)')
      await pusherServer.close()
    })
  }
  fastify.decorate('pusherProtocol', server)

  // socket.io's Engine.IO listens on the same event for its own path and leaves other paths alone.
  fastify.server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const key = appKeyOf(request.url)
    if (key === undefined) return
    // A client resetting the connection mid-answer must not be an unhandled 'error' event.
    socket.on('error', () => {})
    if (server === undefined) return refuseUpgrade(socket, 404, 'The Pusher protocol needs BRIDGE_PUSHER_APP_ID, BRIDGE_PUSHER_KEY and BRIDGE_PUSHER_SECRET')
    const reason = refusal(fastify, request)
    // Over capacity is told in the protocol's own terms after the upgrade (pusher:error 4100).
    if (reason !== undefined && reason !== 'over_capacity') {
      fastify.metrics.socketConnectionsRefused.inc({ reason: `pusher_${reason}` })
      return refuseUpgrade(socket, reason === 'origin' ? 403 : 503, reason === 'origin' ? 'origin not allowed' : reason)
    }
    server.upgrade(request, socket, head, key)
  })
}, {
  name: 'pusher-protocol',
  dependencies: ['socket-io', 'transport', 'metrics', 'readiness', 'pusher-socket-id']
})
