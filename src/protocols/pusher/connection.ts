// Pusher-protocol connections on the bridge's HTTP server: WebSocket upgrades on `/app/{key}`
// (the `ws` package, beside socket.io's own path), `pusher:connection_established`, the
// activity check both ways, and every close code pusher-js acts on.
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocketServer, type RawData, type WebSocket } from 'ws'
import { createRateLimiter } from '../../sockets/rate-limiter.ts'
import { CLOSE, sendError, sendEvent, type PusherProtocolContext, type PusherSocket } from './context.ts'

/** Frames larger than this close the connection (1009): a subscribe with channel_data is far less. */
const MAX_FRAME_BYTES = 64 * 1024
/** Frames of any kind a connection may send a second, in bursts as large; past it: closed 4100. */
const MAX_FRAMES_PER_SECOND = 100
const PONG_WAIT_MS = 30_000
/** Sockets told to go at shutdown that have not gone by then are dropped. */
const CLOSE_WITHIN_MS = 1000
const PROTOCOL_VERSION = '7'

export interface PusherServerOptions {
  context: PusherProtocolContext
  newSocketId: () => string
  activityTimeoutSeconds: number
  maxSubscribesPerSecond: number
  maxWhispersPerSecond: number
  /** 0: no limit. Counts `otherConnections` (socket.io's) too. */
  maxConnections: number
  otherConnections: () => number
  onFrame: (socket: PusherSocket, text: string) => void
  onRefused: (reason: string) => void
}

/** Where a request wants the Pusher protocol: `/app/{key}`, else undefined. */
export function appKeyOf (url: string | undefined): string | undefined {
  const path = (url ?? '').split('?', 1)[0] as string
  if (!path.startsWith('/app/')) return undefined
  const key = path.slice('/app/'.length, '/app/'.length + 256)
  if (key.includes('/')) return undefined
  try {
    return decodeURIComponent(key)
  } catch {
    // Not a key anyone configured; never a throw in the upgrade listener.
    return key
  }
}

function protocolOf (url: string | undefined): string | null {
  try {
    return new URL(url ?? '/', 'http://bridge').searchParams.get('protocol')
  } catch {
    return null
  }
}

/** Answers an upgrade the bridge will not take with a plain HTTP status. */
export function refuseUpgrade (socket: Duplex, status: number, message: string): void {
  const body = JSON.stringify({ error: message })
  if (!socket.writable) {
    socket.destroy()
    return
  }
  socket.end(`HTTP/1.1 ${status} ${status === 404 ? 'Not Found' : status === 403 ? 'Forbidden' : 'Service Unavailable'}\r\n` +
    `Connection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`)
}

export function createPusherServer (options: PusherServerOptions) {
  const { context, activityTimeoutSeconds, maxConnections } = options
  const { channels, log } = context
  const server = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES, clientTracking: false, perMessageDeflate: false })
  const activityMs = activityTimeoutSeconds * 1000
  const pongWaitMs = Math.min(PONG_WAIT_MS, activityMs)
  const sockets = new Map<PusherSocket, WebSocket>()

  function socketOf (ws: WebSocket): PusherSocket {
    return {
      id: options.newSocketId(),
      // Text frames, also from a Buffer of UTF-8.
      send: (frame) => { ws.send(frame, { binary: false }) },
      bufferedAmount: () => ws.bufferedAmount,
      terminate: () => { ws.terminate() },
      close: (code, reason) => { ws.close(code, reason) },
      subscribes: createRateLimiter(options.maxSubscribesPerSecond),
      clientEvents: createRateLimiter(options.maxWhispersPerSecond),
      frames: createRateLimiter(MAX_FRAMES_PER_SECOND),
      members: new Map(),
      lastHeard: performance.now(),
      pingedAt: 0
    }
  }

  /** Told with `pusher:error` first, as Pusher does, then closed with the same code. */
  function turnAway (ws: WebSocket, code: number, message: string): void {
    ws.send(JSON.stringify({ event: 'pusher:error', data: { code, message } }))
    ws.close(code, message.slice(0, 100))
  }

  function accept (ws: WebSocket, request: IncomingMessage, key: string): void {
    ws.on('error', (error) => { log.debug({ reason: String(error) }, 'Pusher connection error') })
    if (key !== context.app.key) {
      options.onRefused('unknown_key')
      return turnAway(ws, CLOSE.unknownApp, 'App key not in use on this server (BRIDGE_PUSHER_KEY)')
    }
    const protocol = protocolOf(request.url)
    if (protocol !== null && protocol !== PROTOCOL_VERSION) {
      options.onRefused('protocol')
      return turnAway(ws, 4007, `Unsupported protocol version ${protocol.slice(0, 10)}: this server speaks 7`)
    }
    if (maxConnections > 0 && sockets.size + options.otherConnections() >= maxConnections) {
      options.onRefused('over_capacity')
      return turnAway(ws, CLOSE.overCapacity, 'Over capacity (BRIDGE_MAX_CONNECTIONS): try again later')
    }
    const socket = socketOf(ws)
    sockets.set(socket, ws)
    channels.add(socket)
    ws.on('message', (data: RawData, isBinary: boolean) => {
      socket.lastHeard = performance.now()
      socket.pingedAt = 0
      if (!socket.frames.take()) {
        log.debug({ socketId: socket.id }, 'Pusher connection closed: too many frames')
        return socket.close(CLOSE.overCapacity, 'too many frames a second')
      }
      if (isBinary) return sendError(context, socket, null, 'frames are text JSON, not binary')
      options.onFrame(socket, Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8'))
    })
    ws.on('close', () => {
      sockets.delete(socket)
      channels.remove(socket)
    })
    sendEvent(context, socket, 'pusher:connection_established', undefined, { socket_id: socket.id, activity_timeout: activityTimeoutSeconds })
  }

  /** Silent connections are pinged; those that stay silent past the wait are closed (4201). */
  const sweep = setInterval(() => {
    const now = performance.now()
    for (const socket of sockets.keys()) {
      if (socket.pingedAt > 0) {
        if (now - socket.pingedAt > pongWaitMs) socket.close(CLOSE.pongTimeout, 'Pong reply not received')
      } else if (now - socket.lastHeard > activityMs) {
        socket.pingedAt = now
        sendEvent(context, socket, 'pusher:ping', undefined, {})
      }
    }
  }, Math.min(1000, activityMs / 4))
  sweep.unref()

  return {
    /** Takes over an upgrade request for `/app/{key}` (checked by the caller: path, origin, readiness). */
    upgrade (request: IncomingMessage, socket: Duplex, head: Buffer, key: string): void {
      server.handleUpgrade(request, socket, head, (ws) => { accept(ws, request, key) })
    },

    get size (): number {
      return sockets.size
    },

    /** Every connection told to reconnect (4200: to another node); resolves once they are gone. */
    async close (): Promise<void> {
      clearInterval(sweep)
      const gone = [...sockets.values()].map((ws) => new Promise<void>((resolve) => {
        ws.once('close', () => resolve())
        ws.close(CLOSE.reconnectNow, 'Server shutting down')
      }))
      const timer = setTimeout(() => { for (const ws of sockets.values()) ws.terminate() }, CLOSE_WITHIN_MS)
      await Promise.all(gone)
      clearTimeout(timer)
      server.close()
    }
  }
}

export type PusherServer = ReturnType<typeof createPusherServer>
