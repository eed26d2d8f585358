// Configuration: read once at start from the environment (and `.env`), checked, typed.
import { existsSync, readFileSync } from 'node:fs'
import { totalmem } from 'node:os'
import { getHeapStatistics } from 'node:v8'
import proxyAddr from '@fastify/proxy-addr'
import { parse as parseDotenv } from 'dotenv'

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'

export interface Config {
  nodeEnv: string
  production: boolean
  port: number
  /** Where to listen: `HOST`, else 127.0.0.1 in open development mode, else 0.0.0.0. */
  host: string
  /** No BRIDGE_API_TOKEN and no BRIDGE_JWT_SECRET outside production: anyone may publish and subscribe. */
  openDevelopment: boolean
  logLevel: LogLevel
  /** Allowed browser origins; `true` allows any origin (development only by default). */
  corsOrigins: string[] | true
  bodyLimit: number
  maxRoomsPerSocket: number
  /** subscribe/unsubscribe calls one connection may make a second (both protocols together). */
  maxSubscribesPerSecond: number
  /** Longest time from the Engine.IO handshake to a completed socket.io connect, in ms. */
  connectTimeoutMs: number
  /** Most connections handshaken but not yet connected (authenticated) at once, on this node. */
  maxPendingConnections: number
  /** The same, per client address; applies when BRIDGE_TRUST_PROXY says who the client is. */
  maxPendingConnectionsPerAddress: number
  /** Proxies whose X-Forwarded-For is believed (addresses, CIDR ranges, loopback/linklocal/uniquelocal); empty: none. */
  trustProxy: string[]
  idempotencyTtlSeconds: number
  /** Most claims (uuids, signatures) one node keeps for de-duplication; when full, publishes get 503. */
  idempotencyMaxEntries: number
  shutdownTimeoutMs: number
  /** Longest time from a request's first byte to its last (headers: at most 10 s of it), in ms; then 408. */
  requestTimeoutMs: number
  /** Bearer token `/metrics` requires; absent: `/metrics` is open (local Prometheus). */
  metricsToken?: string
  /** Bearer tokens accepted from publishers (several during a rotation); empty: publishing is open. */
  apiTokens: string[]
  /** Turns on request signing (X-Bridge-Signature) for publishers. */
  apiSigningSecret?: string
  /** HS256 secret of socket tokens; absent: sockets connect without a token and may join any room. */
  jwtSecret?: string
  /** Most bytes of events a node keeps for clients that reconnect (missed-event recovery). */
  recoveryMaxBytes: number
  /** Past this many bytes waiting to be sent to a socket, it is disconnected; 0 never. */
  maxBufferedBytes: number
  /** Load-shedding thresholds; 0 turns one off. */
  maxEventLoopDelayMs: number
  maxHeapUsedBytes: number
  maxRssBytes: number
  maxEventLoopUtilization: number
  /** Turns on cluster mode (socket.io Redis adapter, shared de-duplication) when set. */
  redisUrl?: string
  /** Prefix of every Redis key and channel the bridge uses, so deployments can share a Redis. */
  redisPrefix: string
  /** About how many entries the cluster's Redis stream keeps at most (besides its 2 minutes). */
  redisStreamMaxEntries: number
  /** Laravel's `/broadcasting/auth` URL: Laravel authorizes private and presence channels (section 5.1). */
  authEndpoint?: string
  /** Longest wait for the authorization endpoint, in ms. */
  authTimeoutMs: number
  /** Calls to the authorization endpoint in flight at once, on this node. */
  authConcurrency: number
  /** Whether Echo's client events (whispers) are relayed. */
  whispers: boolean
  maxWhispersPerSecond: number
  /** The Pusher app Laravel's `pusher` broadcaster publishes as; absent: no Pusher HTTP API. */
  pusher?: PusherApp
  /** The app's Redis, where Laravel's `redis` broadcaster publishes; absent: not subscribed. */
  laravelRedisUrl?: string
  /** What Laravel puts before channel names on its Redis (`database.redis.options.prefix`). */
  laravelRedisPrefix: string
}

export interface PusherApp {
  appId: string
  key: string
  secret: string
}

export type Env = Record<string, string | undefined>

/** A configuration problem; its message is the one line printed before exiting. */
export class ConfigError extends Error {
  override name = 'ConfigError'
}

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

function readString (env: Env, name: string): string | undefined {
  const value = env[name]?.trim()
  return value === undefined || value === '' ? undefined : value
}

function readInteger (env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = readString(env, name)
  if (raw === undefined) return fallback
  if (!/^\d+$/.test(raw)) {
    throw new ConfigError(`${name} must be a whole number between ${min} and ${max}, got "${raw}"`)
  }
  const value = Number(raw)
  if (value < min || value > max) {
    throw new ConfigError(`${name} must be between ${min} and ${max}, got ${value}`)
  }
  return value
}

// Shorter secrets could be guessed offline from one signed token or request.
const MIN_SECRET_BYTES = 32

function checkSecretLength (name: string, value: string, production: boolean): void {
  if (production && Buffer.byteLength(value) < MIN_SECRET_BYTES) {
    throw new ConfigError(`${name} must be at least ${MIN_SECRET_BYTES} bytes when NODE_ENV=production (e.g. \`openssl rand -hex 32\`)`)
  }
}

function readSecret (env: Env, name: string, production: boolean): string | undefined {
  const value = readString(env, name)
  if (value !== undefined) checkSecretLength(name, value, production)
  return value
}

/** BRIDGE_API_TOKEN: one token, or several separated by commas while rotating. */
function readApiTokens (env: Env, production: boolean): string[] {
  const tokens = (readString(env, 'BRIDGE_API_TOKEN') ?? '').split(',').map((token) => token.trim()).filter(Boolean)
  for (const token of tokens) checkSecretLength('BRIDGE_API_TOKEN', token, production)
  return tokens
}

function requireInProduction (name: string, present: boolean, production: boolean, meaning: string): void {
  if (production && !present) {
    throw new ConfigError(`${name} is required when NODE_ENV=production (${meaning})`)
  }
}

function readFraction (env: Env, name: string, fallback: number): number {
  const raw = readString(env, name)
  if (raw === undefined) return fallback
  const value = Number(raw)
  if (!/^\d*\.?\d+$/.test(raw) || value > 1) {
    throw new ConfigError(`${name} must be a number between 0 and 1 (e.g. 0.98), got "${raw}"`)
  }
  return value
}

/**
 * Default memory thresholds: 90% of what the process can have before it dies, so the
 * bridge sheds load while it can still recover. The heap limit follows
 * `--max-old-space-size`; the memory limit is the container's (cgroup) when there is one.
 */
function memoryDefaults (): { heapUsedBytes: number, rssBytes: number } {
  const machine = totalmem()
  // Node 20 answers undefined without a limit, later versions 0, and some cgroups 2^64.
  const constrained = process.constrainedMemory?.() ?? 0
  const available = constrained > 0 && constrained < machine ? constrained : machine
  return {
    heapUsedBytes: Math.floor(getHeapStatistics().heap_size_limit * 0.9),
    rssBytes: Math.floor(available * 0.9)
  }
}

function readOrigins (env: Env, production: boolean): string[] | true {
  const raw = readString(env, 'CORS_ORIGINS')
  if (raw === undefined) return production ? [] : true
  if (raw === '*') {
    if (production) throw new ConfigError('CORS_ORIGINS must list the frontend origins when NODE_ENV=production, not "*"')
    return true
  }
  const origins = raw.split(',').map((origin) => origin.trim()).filter(Boolean)
  for (const origin of origins) {
    let url: URL
    try {
      url = new URL(origin)
    } catch {
      throw new ConfigError(`CORS_ORIGINS must be "*" or comma-separated origins like https://app.example.com, got "${origin}"`)
    }
    if (url.origin !== origin) {
      throw new ConfigError(`CORS_ORIGINS entry "${origin}" is not an origin (scheme://host[:port], no path or trailing slash)`)
    }
  }
  return origins
}

function readRedisUrl (env: Env, name: string): string | undefined {
  const raw = readString(env, name)
  if (raw === undefined) return undefined
  // The URL may carry a password: messages name the problem, never the value.
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new ConfigError(`${name} must be a URL like redis://[user:password@]host:6379[/db]`)
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new ConfigError(`${name} must start with redis:// or rediss://, got "${url.protocol}//"`)
  }
  if (url.hostname === '') {
    throw new ConfigError(`${name} must name a host, like redis://localhost:6379`)
  }
  if (!/^\/?(\d+)?$/.test(url.pathname)) {
    throw new ConfigError(`${name} path must be a database number, like redis://localhost:6379/0`)
  }
  return raw
}

function readAuthEndpoint (env: Env): string | undefined {
  const raw = readString(env, 'BRIDGE_AUTH_ENDPOINT')
  if (raw === undefined) return undefined
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new ConfigError(`BRIDGE_AUTH_ENDPOINT must be a URL like https://app.example.com/broadcasting/auth, got "${raw}"`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`BRIDGE_AUTH_ENDPOINT must start with http:// or https://, got "${url.protocol}//"`)
  }
  return raw
}

/** BRIDGE_TRUST_PROXY: comma-separated addresses or CIDR ranges of proxies, as Fastify's `trustProxy` takes them. */
function readTrustProxy (env: Env): string[] {
  const entries = (readString(env, 'BRIDGE_TRUST_PROXY') ?? '').split(',').map((entry) => entry.trim()).filter(Boolean)
  for (const entry of entries) {
    try {
      proxyAddr.compile(entry)
    } catch {
      throw new ConfigError(`BRIDGE_TRUST_PROXY must list proxy addresses or CIDR ranges (e.g. 10.0.0.0/8,loopback), got "${entry}"`)
    }
  }
  return entries
}

function readSwitch (env: Env, name: string, fallback: boolean): boolean {
  const raw = readString(env, name)?.toLowerCase()
  if (raw === undefined) return fallback
  if (raw === 'on' || raw === 'true' || raw === '1') return true
  if (raw === 'off' || raw === 'false' || raw === '0') return false
  throw new ConfigError(`${name} must be on or off, got "${raw}"`)
}

/** BRIDGE_PUSHER_APP_ID, _KEY and _SECRET: all three turn on the Pusher HTTP API, or none. */
function readPusherApp (env: Env, production: boolean): PusherApp | undefined {
  const appId = readString(env, 'BRIDGE_PUSHER_APP_ID')
  const key = readString(env, 'BRIDGE_PUSHER_KEY')
  const secret = readSecret(env, 'BRIDGE_PUSHER_SECRET', production)
  if (appId === undefined && key === undefined && secret === undefined) return undefined
  const missing = [['BRIDGE_PUSHER_APP_ID', appId], ['BRIDGE_PUSHER_KEY', key], ['BRIDGE_PUSHER_SECRET', secret]]
    .filter(([, value]) => value === undefined).map(([name]) => name)
  if (missing.length > 0 || appId === undefined || key === undefined || secret === undefined) {
    throw new ConfigError(`${missing.join(', ')} must be set too: the Pusher HTTP API needs the app id, key and secret`)
  }
  if (!/^[A-Za-z0-9_\-.]{1,64}$/.test(appId)) {
    throw new ConfigError(`BRIDGE_PUSHER_APP_ID must be 1-64 characters of A-Z a-z 0-9 _ - ., got "${appId}"`)
  }
  if (!/^[A-Za-z0-9_\-.]{1,128}$/.test(key)) {
    throw new ConfigError('BRIDGE_PUSHER_KEY must be 1-128 characters of A-Z a-z 0-9 _ - .')
  }
  return { appId, key, secret }
}

function readLaravelRedisPrefix (env: Env): string {
  const prefix = env.BRIDGE_LARAVEL_REDIS_PREFIX ?? 'laravel_database_'
  if (!/^[A-Za-z0-9_\-.:{}]{0,128}$/.test(prefix)) {
    throw new ConfigError(`BRIDGE_LARAVEL_REDIS_PREFIX must be 0-128 characters of A-Z a-z 0-9 _ - . : { }, got "${prefix}"`)
  }
  return prefix
}

function readRedisPrefix (env: Env): string {
  const prefix = readString(env, 'BRIDGE_REDIS_PREFIX') ?? 'bridge:'
  if (!/^[A-Za-z0-9_\-.:{}]{1,64}$/.test(prefix)) {
    throw new ConfigError(`BRIDGE_REDIS_PREFIX must be 1-64 characters of A-Z a-z 0-9 _ - . : { }, got "${prefix}"`)
  }
  return prefix
}

/** Reads `.env` from the working directory; variables already set in the environment win. */
export function readDotenv (path = '.env'): Env {
  if (!existsSync(path)) return {}
  return parseDotenv(readFileSync(path))
}

export function loadConfig (env: Env = { ...readDotenv(), ...process.env }): Config {
  const nodeEnv = readString(env, 'NODE_ENV') ?? 'development'
  const production = nodeEnv === 'production'

  const logLevel = (readString(env, 'LOG_LEVEL') ?? 'info') as LogLevel
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`)
  }

  const apiTokens = readApiTokens(env, production)
  requireInProduction('BRIDGE_API_TOKEN', apiTokens.length > 0, production, 'bearer token(s) for publishers')
  const jwtSecret = readSecret(env, 'BRIDGE_JWT_SECRET', production)
  requireInProduction('BRIDGE_JWT_SECRET', jwtSecret !== undefined, production, 'secret of the socket tokens Laravel issues')

  const openDevelopment = !production && apiTokens.length === 0 && jwtSecret === undefined
  const memory = memoryDefaults()
  return {
    nodeEnv,
    production,
    port: readInteger(env, 'PORT', 3000, 0, 65535),
    // Open development mode serves this machine only, unless HOST says otherwise.
    host: readString(env, 'HOST') ?? (openDevelopment ? '127.0.0.1' : '0.0.0.0'),
    openDevelopment,
    logLevel,
    corsOrigins: readOrigins(env, production),
    bodyLimit: readInteger(env, 'BRIDGE_BODY_LIMIT', 65536, 1024, 64 * 1024 * 1024),
    maxRoomsPerSocket: readInteger(env, 'BRIDGE_MAX_ROOMS_PER_SOCKET', 100, 1, 100_000),
    maxSubscribesPerSecond: readInteger(env, 'BRIDGE_MAX_SUBSCRIBES_PER_SECOND', 20, 1, 10_000),
    connectTimeoutMs: readInteger(env, 'BRIDGE_CONNECT_TIMEOUT', 5000, 100, 60_000),
    maxPendingConnections: readInteger(env, 'BRIDGE_MAX_PENDING_CONNECTIONS', 1000, 1, 1_000_000),
    maxPendingConnectionsPerAddress: readInteger(env, 'BRIDGE_MAX_PENDING_CONNECTIONS_PER_ADDRESS', 50, 1, 1_000_000),
    trustProxy: readTrustProxy(env),
    idempotencyTtlSeconds: readInteger(env, 'BRIDGE_IDEMPOTENCY_TTL', 600, 0, 7 * 24 * 3600),
    apiTokens,
    apiSigningSecret: readSecret(env, 'BRIDGE_API_SIGNING_SECRET', production),
    jwtSecret,
    idempotencyMaxEntries: readInteger(env, 'BRIDGE_IDEMPOTENCY_MAX_ENTRIES', 1_000_000, 1, 10_000_000),
    shutdownTimeoutMs: readInteger(env, 'BRIDGE_SHUTDOWN_TIMEOUT', 10_000, 100, 10 * 60_000),
    requestTimeoutMs: readInteger(env, 'BRIDGE_REQUEST_TIMEOUT', 30_000, 1000, 10 * 60_000),
    metricsToken: readSecret(env, 'BRIDGE_METRICS_TOKEN', production),
    recoveryMaxBytes: readInteger(env, 'BRIDGE_RECOVERY_MAX_BYTES', 64 * 1024 * 1024, 0, Number.MAX_SAFE_INTEGER),
    maxBufferedBytes: readInteger(env, 'BRIDGE_MAX_BUFFERED_BYTES', 1024 * 1024, 0, Number.MAX_SAFE_INTEGER),
    maxEventLoopDelayMs: readInteger(env, 'BRIDGE_MAX_EVENT_LOOP_DELAY', 100, 0, 60_000),
    maxHeapUsedBytes: readInteger(env, 'BRIDGE_MAX_HEAP_USED_BYTES', memory.heapUsedBytes, 0, Number.MAX_SAFE_INTEGER),
    maxRssBytes: readInteger(env, 'BRIDGE_MAX_RSS_BYTES', memory.rssBytes, 0, Number.MAX_SAFE_INTEGER),
    maxEventLoopUtilization: readFraction(env, 'BRIDGE_MAX_EVENT_LOOP_UTILIZATION', 1),
    redisUrl: readRedisUrl(env, 'REDIS_URL'),
    redisPrefix: readRedisPrefix(env),
    // Not below 1,000: a node that fell behind past the cap must find a full read (500 entries).
    redisStreamMaxEntries: readInteger(env, 'BRIDGE_REDIS_STREAM_MAX_ENTRIES', 100_000, 1000, 100_000_000),
    authEndpoint: readAuthEndpoint(env),
    authTimeoutMs: readInteger(env, 'BRIDGE_AUTH_TIMEOUT', 5000, 100, 60_000),
    authConcurrency: readInteger(env, 'BRIDGE_AUTH_CONCURRENCY', 64, 1, 10_000),
    whispers: readSwitch(env, 'BRIDGE_WHISPERS', true),
    maxWhispersPerSecond: readInteger(env, 'BRIDGE_MAX_WHISPERS_PER_SECOND', 10, 1, 1000),
    pusher: readPusherApp(env, production),
    laravelRedisUrl: readRedisUrl(env, 'BRIDGE_LARAVEL_REDIS_URL'),
    laravelRedisPrefix: readLaravelRedisPrefix(env)
  }
}
