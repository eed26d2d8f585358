// Builds the bridge the way src/server.ts does, for tests: inject requests, or listen on a
// real port and connect real socket.io clients.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough, type Writable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { createSigner } from 'fast-jwt'
import Fastify, { type FastifyInstance } from 'fastify'
import { io as connect, type Socket as ClientSocket, type ManagerOptions, type SocketOptions } from 'socket.io-client'
import type { Test } from 'tap'
import app from '../../src/app.ts'
import { signatureOf } from '../../src/auth/request-signature.ts'
import { loadConfig, type Env } from '../../src/config/index.ts'
import { serverOptions } from '../../src/http/server-options.ts'
import type { ClientToServerEvents, ServerToClientEvents, SubscriptionAck } from '../../src/schemas/socket.ts'

/** The repository root: where `src/server.ts` runs from. */
const root = fileURLToPath(new URL('../..', import.meta.url))

export type TestClient = ClientSocket<ServerToClientEvents, ClientToServerEvents>

/**
 * Load shedding off: on a test machine busy with other tests, it would rightly answer 503
 * to requests of tests about something else. The load-shedding tests turn it on.
 */
export const NO_LOAD_SHEDDING: Env = {
  BRIDGE_MAX_EVENT_LOOP_DELAY: '0',
  BRIDGE_MAX_EVENT_LOOP_UTILIZATION: '0',
  BRIDGE_MAX_HEAP_USED_BYTES: '0',
  BRIDGE_MAX_RSS_BYTES: '0'
}

/** Environment of a test bridge: quiet, never reading the developer's `.env`. */
export function testEnv (overrides: Env = {}): Env {
  return { NODE_ENV: 'test', LOG_LEVEL: 'silent', ...NO_LOAD_SHEDDING, ...overrides }
}

export interface BuildOptions {
  /** Where the bridge's log lines go (pino writes one JSON line per call). */
  logStream?: Writable
}

/** A ready bridge (not listening), closed when the test ends. */
export async function buildApp (t: Test, env: Env = {}, options: BuildOptions = {}): Promise<FastifyInstance> {
  const config = loadConfig(testEnv(env))
  const fastifyOptions = serverOptions(config)
  if (options.logStream !== undefined) {
    fastifyOptions.logger = { ...fastifyOptions.logger as object, stream: options.logStream }
  }
  const fastify = Fastify(fastifyOptions)
  await fastify.register(app, { config })
  t.teardown(() => closeAfterClients(fastify))
  await fastify.ready()
  return fastify
}

/** How long a closing test bridge waits for the disconnects its test's clients just sent. */
const CLIENTS_GONE_WITHIN_MS = 500

/**
 * Teardowns run last-registered first: the test's clients have sent their disconnects when this
 * runs. Waiting until the bridge has read them makes them leave as clients that left, not as
 * connections the shutdown closed, which keep their presence through its grace and hold the
 * close up that long.
 */
async function closeAfterClients (fastify: FastifyInstance): Promise<void> {
  const sockets = fastify.io.of('/').sockets
  const deadline = Date.now() + CLIENTS_GONE_WITHIN_MS
  while (sockets.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5))
  await fastify.close()
}

/** A bridge listening on a free port of 127.0.0.1; returns it with its base URL. */
export async function startBridge (t: Test, env: Env = {}, options: BuildOptions = {}): Promise<{ fastify: FastifyInstance, url: string }> {
  const fastify = await buildApp(t, env, options)
  await fastify.listen({ port: 0, host: '127.0.0.1' })
  const { port } = fastify.server.address() as AddressInfo
  return { fastify, url: `http://127.0.0.1:${port}` }
}

/** A connected socket.io client (websocket only, no reconnection), closed when the test ends. */
export async function connectClient (
  t: Test,
  url: string,
  options: Partial<ManagerOptions & SocketOptions> = {}
): Promise<TestClient> {
  const socket: TestClient = connect(url, { transports: ['websocket'], reconnection: false, forceNew: true, ...options })
  t.teardown(() => { socket.disconnect() })
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('connect_error', reject)
  })
  return socket
}

export function subscribe (socket: TestClient, room: string, token?: string): Promise<SubscriptionAck> {
  return socket.timeout(5000).emitWithAck('subscribe', token === undefined ? { room } : { room, token })
}

export function unsubscribe (socket: TestClient, room: string): Promise<SubscriptionAck> {
  return socket.timeout(5000).emitWithAck('unsubscribe', { room })
}

/** Resolves with the next `event` the socket receives; rejects after `ms`. */
export function nextEvent<E extends keyof ServerToClientEvents> (
  socket: TestClient,
  event: E,
  ms = 5000
): Promise<Parameters<ServerToClientEvents[E]>[0]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(event)
      reject(new Error(`no ${event} within ${ms} ms`))
    }, ms)
    socket.once(event, ((data: Parameters<ServerToClientEvents[E]>[0]) => {
      clearTimeout(timer)
      resolve(data)
    }) as never)
  })
}

/** Collects every event of the given names the socket receives, in arrival order. */
export function recordEvents (socket: TestClient): Array<{ event: string, data: unknown }> {
  const received: Array<{ event: string, data: unknown }> = []
  socket.onAny((event: string, data: unknown) => { received.push({ event, data }) })
  return received
}

/** POSTs JSON to a running bridge with fetch, the way a backend would. */
/** A POST of a body as it is sent (signed bodies must not be re-encoded): status, headers and JSON answer. */
export async function postRaw (url: string, path: string, body: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body
  })
  return { status: response.status, headers: response.headers, body: await response.json() as Record<string, unknown> }
}

export async function postJson (url: string, path: string, body: unknown, headers: Record<string, string> = {}) {
  return await postRaw(url, path, JSON.stringify(body), headers)
}

/** A socket with a token for `room`, subscribed to it, and what it receives. */
export async function roomListener (t: Test, url: string, room: string) {
  const socket = await connectClient(t, url, { auth: { token: socketToken({ sub: '1', rooms: [room] }) } })
  t.same(await subscribe(socket, room), { ok: true, room })
  return { socket, received: recordEvents(socket) }
}

/** Secrets of a secured test bridge: long enough for production. */
export const secrets = {
  apiToken: 'test-api-token-0123456789abcdef0123456789abcdef',
  apiTokenNext: 'test-api-token-next-0123456789abcdef0123456789',
  signingSecret: 'test-signing-secret-0123456789abcdef0123456789',
  jwtSecret: 'test-jwt-secret-0123456789abcdef0123456789abcdef'
}

/** Environment of a bridge with every secret set (tokens rotated: two accepted). */
export function securedEnv (overrides: Env = {}): Env {
  return {
    BRIDGE_API_TOKEN: `${secrets.apiToken},${secrets.apiTokenNext}`,
    BRIDGE_API_SIGNING_SECRET: secrets.signingSecret,
    BRIDGE_JWT_SECRET: secrets.jwtSecret,
    ...overrides
  }
}

/** A JWT as Laravel would mint it: HS256 with BRIDGE_JWT_SECRET, expiring in an hour. */
export function socketToken (claims: Record<string, unknown>, secret = secrets.jwtSecret): string {
  return createSigner({ key: secret, algorithm: 'HS256', expiresIn: 3_600_000 })(claims)
}

export interface SigningOptions {
  /** Default POST. */
  method?: string
  /** The path and query the request is sent to; default `/api/sms/new-message`. */
  url?: string
  secret?: string
  /** Unix seconds; default now. */
  timestamp?: number
}

/** Headers of a request signed with `secret`, as a Laravel publisher sends them (a GET signs an empty body). */
export function signedHeaders (body: string, { method = 'POST', url = '/api/sms/new-message', secret = secrets.signingSecret, timestamp = Math.floor(Date.now() / 1000) }: SigningOptions = {}) {
  return {
    authorization: `Bearer ${secrets.apiToken}`,
    'x-bridge-timestamp': String(timestamp),
    'x-bridge-signature': signatureOf(secret, { timestamp: String(timestamp), method, url, body })
  }
}

/** Resolves with the `connect_error` message of a client the bridge refuses; fails if it connects. */
export async function refusedConnection (
  t: Test,
  url: string,
  options: Partial<ManagerOptions & SocketOptions> = {}
): Promise<string> {
  const socket: TestClient = connect(url, { transports: ['websocket'], reconnection: false, forceNew: true, ...options })
  t.teardown(() => { socket.disconnect() })
  return await new Promise<string>((resolve, reject) => {
    socket.once('connect', () => reject(new Error('the bridge accepted a connection it should refuse')))
    socket.once('connect_error', (error) => resolve(error.message))
  })
}
export interface CapturedLogs {
  stream: Writable
  /** The JSON lines written so far. */
  lines: Array<Record<string, unknown>>
  /** Resolves with the first line (already written or to come) whose `msg` is `msg`. */
  line (msg: string): Promise<Record<string, unknown>>
}

/** A log destination for `buildApp`, and the JSON lines written to it. */
export function captureLogs (): CapturedLogs {
  const lines: Array<Record<string, unknown>> = []
  const stream = new PassThrough()
  let pending = ''
  stream.on('data', (chunk: Buffer) => {
    pending += chunk.toString()
    const complete = pending.split('\n')
    pending = complete.pop() ?? ''
    for (const line of complete) {
      if (line === '') continue
      lines.push(JSON.parse(line) as Record<string, unknown>)
      stream.emit('line', lines.at(-1))
    }
  })
  function line (msg: string): Promise<Record<string, unknown>> {
    const seen = lines.find((candidate) => candidate.msg === msg)
    if (seen !== undefined) return Promise.resolve(seen)
    return new Promise((resolve) => {
      const listener = (candidate: Record<string, unknown>) => {
        if (candidate.msg !== msg) return
        stream.off('line', listener)
        resolve(candidate)
      }
      stream.on('line', listener)
    })
  }
  return { stream, lines, line }
}

/** The value of a sample in Prometheus text (`name{labels} value`), 0 when absent. */
export function metricValue (metrics: string, sample: string): number {
  const line = metrics.split('\n').find((candidate) => candidate.startsWith(`${sample} `))
  return line === undefined ? 0 : Number(line.slice(sample.length + 1))
}

/** A sample of a bridge's `/metrics` (without BRIDGE_METRICS_TOKEN), 0 when absent. */
export async function metricOf (url: string, sample: string): Promise<number> {
  return metricValue(await (await fetch(`${url}/metrics`)).text(), sample)
}

/** Polls `condition` every 50 ms until it holds; for states no event announces (load samples). */
export async function waitFor (condition: () => boolean | Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** A TCP port free on 127.0.0.1 right now. */
export function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
    server.once('error', reject)
  })
}

/**
 * The real entry point (`src/server.ts`, or another script) as a child process, with only the
 * given environment (plus development mode and no load shedding), and its output.
 */
export function startServer (env: Record<string, string>, script = 'src/server.ts') {
  // Run from an empty directory, so that no `.env` of the developer's is read.
  const cwd = mkdtempSync(join(tmpdir(), 'bridge-'))
  const child = spawn(process.execPath, [join(root, script)], {
    cwd,
    // Only what the test sets: the developer's environment and .env must not leak in.
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'development', ...NO_LOAD_SHEDDING, ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  child.once('exit', () => { rmSync(cwd, { recursive: true, force: true }) })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk })
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk })
  /** Resolves with the first JSON log line whose `msg` starts with `msg`, already written or to come. */
  function logLine (msg: string): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const line = stdout.split('\n').filter((text) => text.startsWith('{'))
          .map((text) => JSON.parse(text) as Record<string, unknown>)
          .find((candidate) => String(candidate.msg).startsWith(msg))
        if (line === undefined) return
        child.stdout.off('data', check)
        child.off('exit', exited)
        resolve(line)
      }
      const exited = (code: number | null) => reject(new Error(`exited ${code} before logging "${msg}": ${stderr}`))
      child.stdout.on('data', check)
      child.once('exit', exited)
      check()
    })
  }
  return { child, output: () => ({ stdout, stderr }), logLine }
}
