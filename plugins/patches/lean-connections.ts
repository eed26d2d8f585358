// Keeps idle connections small: once connected, a connection lets go of the HTTP request that
// opened it (docs/performance.md), and `socket.request` becomes a stand-in keeping what
// socket.io's docs read of it: `headers`, `url`, `method`, `socket.remoteAddress`. The upgrade
// response's relay of the raw socket's `close` goes once nothing listens to the response. A
// connection opened on websocket also drops two listeners only a handshake uses: Engine.IO's
// `headers` listener on the transport (polling answers emit it, websockets never do) and its
// `onUpgradeError` on the ws socket (the transport's own `error` listener takes over). The
// handshake's time string is the one of the connection before it when both read the same.
// Patches engine.io's `Socket#request`, the upgrade response's `req`, that relay and those two
// listeners, checked at start.
import type { EventEmitter } from 'node:events'
import type { IncomingMessage } from 'node:http'
import fp from 'fastify-plugin'
import { shareHeaderValues, sharedHandshakeTime, sharedUrl } from '../../src/sockets/shared-values.ts'
import type { Probe } from './self-check.ts'

// Engine.IO keeps the request for the connection's life twice over (`conn.request`, and the
// upgrade response reachable from `close` listeners); socket.io copied what it uses into
// `socket.handshake`. Middlewares and connection handlers still see the request itself.

interface UpgradeResponse {
  req: IncomingMessage | null
  socket?: EventEmitter
}

export interface RequestStandIn {
  headers: IncomingMessage['headers']
  url: string | undefined
  method: string | undefined
  socket: { remoteAddress: string | undefined, remotePort: number | undefined }
}

export function requestStandIn (request: IncomingMessage): RequestStandIn {
  const { remoteAddress, remotePort } = request.socket ?? {}
  return { headers: shareHeaderValues(request.headers), url: sharedUrl(request.url), method: request.method, socket: { remoteAddress, remotePort } }
}

/**
 * The listener engine.io's upgrade response puts on the raw socket to relay its `close` to the
 * response's listeners: the last `close` listener when the Engine.IO middlewares run.
 */
export function closeRelay (response: object): ((...args: unknown[]) => void) | undefined {
  return (response as UpgradeResponse).socket?.rawListeners('close').at(-1) as ((...args: unknown[]) => void) | undefined
}

export function closeRelayProblems ({ upgrade }: Pick<Probe, 'upgrade'>): string[] {
  const response = upgrade.response as Partial<EventEmitter>
  const relay = upgrade.closeRelay as { listener?: () => void } | undefined
  let relayed = false
  if (typeof response.once === 'function' && typeof relay?.listener === 'function') {
    response.once('close', () => { relayed = true })
    relay.listener()
  }
  return relayed ? [] : ['engine.io\'s upgrade response relays the raw socket\'s close with the last once listener on it']
}

interface WebsocketTransport extends EventEmitter {
  name: string
  socket?: EventEmitter
}

/** Engine.IO's handshake listener no websocket ever fires, and its error listener for before the transport existed. */
function handshakeListeners (conn: { transport?: unknown }): { transport: WebsocketTransport, headers: Function[], upgradeError: Function[] } | undefined {
  const transport = conn.transport as Partial<WebsocketTransport> | undefined
  if (transport?.name !== 'websocket' || typeof transport.rawListeners !== 'function' || typeof transport.socket?.rawListeners !== 'function') return undefined
  return {
    transport: transport as WebsocketTransport,
    headers: transport.rawListeners('headers'),
    upgradeError: transport.socket.rawListeners('error').filter((listener) => listener.name === 'onUpgradeError')
  }
}

export function handshakeListenerProblems (conn: { transport?: unknown }): string[] {
  const found = handshakeListeners(conn)
  const problems: string[] = []
  if (found?.headers.length !== 1) problems.push('engine.io\'s websocket transport keeps one `headers` listener from the handshake')
  // The transport's own error listener stays once onUpgradeError goes.
  if (found?.upgradeError.length !== 1 || found.transport.socket?.listenerCount('error') !== 2) problems.push('ws keeps engine.io\'s onUpgradeError beside the transport\'s own error listener')
  return problems
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
      const upgrade = response as UpgradeResponse & Partial<EventEmitter>
      const relay = closeRelay(upgrade)
      // After every middleware and the upgrade itself.
      setImmediate(() => {
        upgrade.req = null
        // The relay keeps the response (and itself) for the connection's life, for listeners none has.
        if (relay !== undefined && upgrade.listenerCount?.('close') === 0) upgrade.socket?.removeListener('close', relay)
      })
    }
    next()
  })
  fastify.io.on('connection', (socket) => {
    // After every connection handler (the bridge's and socket.io's) has run.
    process.nextTick(() => {
      const conn = socket.conn as { request: IncomingMessage | RequestStandIn | null, transport?: unknown }
      socket.handshake.time = sharedHandshakeTime(socket.handshake.time)
      const handshakeOnly = handshakeListeners(conn)
      if (handshakeOnly !== undefined) {
        for (const listener of handshakeOnly.headers) handshakeOnly.transport.removeListener('headers', listener as () => void)
        for (const listener of handshakeOnly.upgradeError) handshakeOnly.transport.socket?.removeListener('error', listener as () => void)
      }
      if (conn.request === null || !('complete' in conn.request)) return
      const standIn = requestStandIn(conn.request)
      conn.request = standIn
      // The same characters as the request's URL, in the string the stand-in shares.
      if (standIn.url !== undefined) socket.handshake.url = standIn.url
    })
  })
}, {
  name: 'lean-connections',
  dependencies: ['socket-io', 'self-check']
})
