// Builds the bridge the way src/server.ts does, for tests: inject requests, or listen on a
// real port and connect real socket.io clients.
import type { AddressInfo } from 'node:net'
import { createSigner } from 'fast-jwt'
import Fastify, { type FastifyInstance } from 'fastify'
import { io as connect, type Socket as ClientSocket, type ManagerOptions, type SocketOptions } from 'socket.io-client'
import type { Test } from 'tap'
import app from '../src/app.ts'
import { signatureOf } from '../src/auth/request-signature.ts'
import { loadConfig, type Env } from '../src/config.ts'
import { serverOptions } from '../src/server-options.ts'
import type { ClientToServerEvents, ServerToClientEvents, SubscriptionAck } from '../src/schemas/socket.ts'

export type TestClient = ClientSocket<ServerToClientEvents, ClientToServerEvents>

/** Environment of a test bridge: quiet, never reading the developer's `.env`. */
export function testEnv (overrides: Env = {}): Env {
  return { NODE_ENV: 'test', LOG_LEVEL: 'silent', ...overrides }
}

/** A ready bridge (not listening), closed when the test ends. */
export async function buildApp (t: Test, env: Env = {}): Promise<FastifyInstance> {
  const config = loadConfig(testEnv(env))
  const fastify = Fastify(serverOptions(config))
  await fastify.register(app, { config })
  t.teardown(() => fastify.close())
  await fastify.ready()
  return fastify
}

/** A bridge listening on a free port of 127.0.0.1; returns it with its base URL. */
export async function startBridge (t: Test, env: Env = {}): Promise<{ fastify: FastifyInstance, url: string }> {
  const fastify = await buildApp(t, env)
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
export async function postJson (url: string, path: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body)
  })
  return { status: response.status, body: await response.json() as Record<string, unknown> }
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

/** Headers of a publish request signed with `secret`, as a Laravel publisher sends them. */
export function signedHeaders (body: string, secret = secrets.signingSecret, timestamp = Math.floor(Date.now() / 1000)) {
  return {
    authorization: `Bearer ${secrets.apiToken}`,
    'x-bridge-timestamp': String(timestamp),
    'x-bridge-signature': signatureOf(secret, String(timestamp), body)
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
