// Every socket.io, Engine.IO and ws internal the bridge reads, checked at start on one real
// websocket connection to a private socket.io server of the same packages (127.0.0.1, once per
// process): the start fails with one line naming what changed. Each patch exports its checks.
import type { IncomingMessage } from 'node:http'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import fp from 'fastify-plugin'
import { Server, type Socket } from 'socket.io'
import WebSocket from 'ws'
import { fastPathProblems, type EngineConnection } from './broadcast-fast-path.ts'
import { compactListenerProblems, decoderProblems } from './compact-listeners.ts'
import { frameMaskProblems } from './frame-mask.ts'
import { closeRelay, closeRelayProblems, handshakeListenerProblems, leanConnectionProblems, upgradeRequestProblems } from './lean-connections.ts'
import { pusherSocketIdProblems } from './pusher-socket-id.ts'
import { sendCallbackProblems } from './send-callbacks.ts'
import { socketInternalsProblems } from './socket-internals.ts'

export interface Probe {
  namespace: object
  /** Connected over websocket, with connection state recovery on (as the bridge runs). */
  socket: Socket
  connection: EngineConnection & { request?: unknown }
  /** `closeRelay`: the response's relay of the raw socket's `close`, as found while middlewares run. */
  upgrade: { request: IncomingMessage, response: object, closeRelay?: unknown }
}

export type InternalsCheck = (probe: Probe) => string[]

export const checks: InternalsCheck[] = [
  socketInternalsProblems,
  (probe) => fastPathProblems(probe.connection),
  (probe) => leanConnectionProblems(probe.connection),
  (probe) => handshakeListenerProblems(probe.connection as { transport?: unknown }),
  upgradeRequestProblems,
  closeRelayProblems,
  (probe) => compactListenerProblems(probe.connection),
  (probe) => decoderProblems(probe.socket),
  () => frameMaskProblems(),
  (probe) => sendCallbackProblems(probe.connection as { transport?: unknown }),
  (probe) => pusherSocketIdProblems(probe.namespace)
]

const PROBE_WITHIN_MS = 5000

async function withProbe<T> (inspect: (probe: Probe) => T): Promise<T> {
  const http = createServer()
  const io = new Server(http, { transports: ['websocket'], serveClient: false, connectionStateRecovery: {} })
  let upgrade: Probe['upgrade'] | undefined
  io.engine.use((request: IncomingMessage, response: object, next: () => void) => {
    if (request.headers.upgrade !== undefined) upgrade = { request, response, closeRelay: closeRelay(response) }
    next()
  })
  let client: WebSocket | undefined
  try {
    const inspected = new Promise<T>((resolve, reject) => {
      io.on('connection', (socket) => {
        if (upgrade === undefined) return reject(new Error('the websocket upgrade did not pass Engine.IO\'s middlewares'))
        // Inspected in the connection handler, where the bridge's handlers run too.
        resolve(inspect({ namespace: io.of('/'), socket, connection: socket.conn as unknown as Probe['connection'], upgrade }))
      })
      setTimeout(() => reject(new Error(`no probe connection within ${PROBE_WITHIN_MS} ms`)), PROBE_WITHIN_MS).unref()
    })
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
    const { port } = http.address() as AddressInfo
    const ws = new WebSocket(`ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`)
    client = ws
    // Engine.IO's open packet, then socket.io's connect to the main namespace.
    ws.on('message', (data) => { if (String(data).startsWith('0')) ws.send('40') })
    ws.on('error', () => {})
    return await inspected
  } finally {
    client?.terminate()
    await new Promise<void>((resolve) => { io.close(() => resolve()) })
  }
}

export async function internalsProblems (list: readonly InternalsCheck[] = checks): Promise<string[]> {
  return await withProbe((probe) => list.flatMap((check) => check(probe)))
}

export function selfCheckMessage (problems: readonly string[]): string {
  return `socket.io internals the bridge relies on changed (see plugins/patches/README.md): ${problems.join('; ')}`
}

let checked: Promise<string[]> | undefined

export interface SelfCheckOptions {
  checks?: readonly InternalsCheck[]
}

export default fp(async function selfCheck (_fastify, options: SelfCheckOptions) {
  const problems = await (options.checks === undefined ? (checked ??= internalsProblems()) : internalsProblems(options.checks))
  if (problems.length > 0) throw new Error(selfCheckMessage(problems))
}, { name: 'self-check' })
