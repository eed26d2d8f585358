// Every socket.io, Engine.IO and ws internal the bridge reads, checked at start: one real
// websocket connection to a private socket.io server of the same packages (on 127.0.0.1, once
// per process) must show each of them, or the start fails with one line naming what changed.
// The patches in this folder say which internals they read; their `…Problems` functions are
// the checks run here.
import type { IncomingMessage } from 'node:http'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import fp from 'fastify-plugin'
import { Server, type Socket } from 'socket.io'
import WebSocket from 'ws'
import { fastPathProblems, type EngineConnection } from './broadcast-fast-path.ts'
import { leanConnectionProblems, upgradeRequestProblems } from './lean-connections.ts'
import { pusherSocketIdProblems } from './pusher-socket-id.ts'
import { socketInternalsProblems } from './socket-internals.ts'

/** What one connection to a private socket.io server shows of the packages' internals. */
export interface Probe {
  /** The server's main namespace. */
  namespace: object
  /** A socket connected over websocket, with connection state recovery on (as the bridge runs). */
  socket: Socket
  /** Its Engine.IO connection, while its handlers run. */
  connection: EngineConnection & { request?: unknown }
  /** What Engine.IO's middlewares got as the response of the websocket upgrade, and its request. */
  upgrade: { request: IncomingMessage, response: object }
}

export type InternalsCheck = (probe: Probe) => string[]

/** The checks of every patch; each names the internals it does not find. */
export const checks: InternalsCheck[] = [
  socketInternalsProblems,
  (probe) => fastPathProblems(probe.connection),
  (probe) => leanConnectionProblems(probe.connection),
  upgradeRequestProblems,
  (probe) => pusherSocketIdProblems(probe.namespace)
]

const PROBE_WITHIN_MS = 5000

/** Connects one raw websocket client to a private socket.io server and hands the probe to `inspect`. */
async function withProbe<T> (inspect: (probe: Probe) => T): Promise<T> {
  const http = createServer()
  const io = new Server(http, { transports: ['websocket'], serveClient: false, connectionStateRecovery: {} })
  let upgrade: Probe['upgrade'] | undefined
  io.engine.use((request: IncomingMessage, response: object, next: () => void) => {
    if (request.headers.upgrade !== undefined) upgrade = { request, response }
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

/** Runs `list` against a probe: every problem found, one per missing internal. */
export async function internalsProblems (list: readonly InternalsCheck[] = checks): Promise<string[]> {
  return await withProbe((probe) => list.flatMap((check) => check(probe)))
}

/** The message a start fails with: one line naming every internal that changed. */
export function selfCheckMessage (problems: readonly string[]): string {
  return `socket.io internals the bridge relies on changed (see plugins/patches/README.md): ${problems.join('; ')}`
}

/** One probe per process for the patches' own checks: the packages do not change while it runs. */
let checked: Promise<string[]> | undefined

export interface SelfCheckOptions {
  /** Other checks than the patches' (tests). */
  checks?: readonly InternalsCheck[]
}

export default fp(async function selfCheck (_fastify, options: SelfCheckOptions) {
  const problems = await (options.checks === undefined ? (checked ??= internalsProblems()) : internalsProblems(options.checks))
  if (problems.length > 0) throw new Error(selfCheckMessage(problems))
}, { name: 'self-check' })
