// The socket protocols on the bridge's socket.io server (src/protocols/): the bridge's own rooms
// and Laravel Echo's channels, each client event name with one listener (src/protocols/dispatch.ts).
// Both protocols share one allowance of BRIDGE_MAX_SUBSCRIBES_PER_SECOND per connection.
import fp from 'fastify-plugin'
import { Counter } from 'prom-client'
import { dispatchers } from '../../src/protocols/dispatch.ts'
import type { BridgeProtocolContext } from '../../src/protocols/bridge/context.ts'
import { roomSubscribe } from '../../src/protocols/bridge/subscribe.ts'
import { roomUnsubscribe } from '../../src/protocols/bridge/unsubscribe.ts'
import { echoClientEvent } from '../../src/protocols/echo/client-event.ts'
import { connectionStates, type EchoMetrics, type EchoProtocolContext } from '../../src/protocols/echo/context.ts'
import { echoSubscribe } from '../../src/protocols/echo/subscribe.ts'
import { echoUnsubscribe } from '../../src/protocols/echo/unsubscribe.ts'
import type { BridgeSocket } from '../../src/schemas/socket.ts'
import { createConnectionRateLimit } from '../../src/sockets/rate-limiter.ts'

export default fp(async function socketProtocols (fastify) {
  const { config, transport, metrics, log } = fastify
  const rateLimit = createConnectionRateLimit<BridgeSocket>(config.maxSubscribesPerSecond)

  const roomContext: BridgeProtocolContext = {
    transport,
    tokens: fastify.socketTokens,
    roomsOpen: config.authEndpoint === undefined,
    rateLimit,
    maxRoomsPerSocket: config.maxRoomsPerSocket,
    maxSubscribesPerSecond: config.maxSubscribesPerSecond,
    refused: (code) => metrics.subscribeRefusals.inc({ code }),
    log
  }

  const registers = [metrics.registry]
  const echoMetrics: EchoMetrics = {
    subscriptions: new Counter({ name: 'bridge_echo_subscriptions_total', help: 'Laravel Echo subscriptions made, by channel kind', labelNames: ['kind'] as const, registers }),
    refusals: new Counter({ name: 'bridge_echo_subscription_refusals_total', help: 'Laravel Echo subscriptions refused (subscription_error), by status', labelNames: ['status'] as const, registers }),
    whispersRelayed: new Counter({ name: 'bridge_whispers_relayed_total', help: 'Whispers (Echo client events) relayed to a channel\'s other sockets', registers }),
    whispersDropped: new Counter({ name: 'bridge_whispers_dropped_total', help: 'Whispers (Echo client events) dropped, by reason', labelNames: ['reason'] as const, registers })
  }
  const echoContext: EchoProtocolContext = {
    transport,
    authorization: fastify.echoAuthorization,
    rateLimit,
    maxRoomsPerSocket: config.maxRoomsPerSocket,
    maxWhispersPerSecond: config.maxWhispersPerSecond,
    whispers: config.whispers,
    metrics: echoMetrics,
    log,
    stateOf: connectionStates(config.maxWhispersPerSecond)
  }

  const listeners = dispatchers({
    room: { subscribe: roomSubscribe(roomContext), unsubscribe: roomUnsubscribe(roomContext) },
    echo: { subscribe: echoSubscribe(echoContext), unsubscribe: echoUnsubscribe(echoContext), clientEvent: echoClientEvent(echoContext) }
  })
  fastify.io.on('connection', (socket) => {
    socket.on('subscribe', listeners.subscribe)
    socket.on('unsubscribe', listeners.unsubscribe)
    socket.on('client event', listeners['client event'])
  })
}, {
  name: 'socket-protocols',
  dependencies: ['socket-io', 'socket-auth', 'echo-authorization', 'transport', 'metrics']
})
