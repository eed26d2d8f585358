// Configuration: read once at start from the environment (and `.env`), checked, typed.
import { existsSync, readFileSync } from 'node:fs'
import { parse as parseDotenv } from 'dotenv'

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'

export interface Config {
  nodeEnv: string
  production: boolean
  port: number
  host: string
  logLevel: LogLevel
  /** Allowed browser origins; `true` allows any origin (development only by default). */
  corsOrigins: string[] | true
  bodyLimit: number
  maxRoomsPerSocket: number
  idempotencyTtlSeconds: number
  shutdownTimeoutMs: number
  /** Bearer tokens accepted from publishers (several during a rotation); empty: publishing is open. */
  apiTokens: string[]
  /** Turns on request signing (X-Bridge-Signature) for publishers. */
  apiSigningSecret?: string
  /** HS256 secret of socket tokens; absent: sockets connect without a token and may join any room. */
  jwtSecret?: string
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

  return {
    nodeEnv,
    production,
    port: readInteger(env, 'PORT', 3000, 0, 65535),
    host: readString(env, 'HOST') ?? '0.0.0.0',
    logLevel,
    corsOrigins: readOrigins(env, production),
    bodyLimit: readInteger(env, 'BRIDGE_BODY_LIMIT', 65536, 1024, 64 * 1024 * 1024),
    maxRoomsPerSocket: readInteger(env, 'BRIDGE_MAX_ROOMS_PER_SOCKET', 100, 1, 100_000),
    idempotencyTtlSeconds: readInteger(env, 'BRIDGE_IDEMPOTENCY_TTL', 600, 0, 7 * 24 * 3600),
    shutdownTimeoutMs: readInteger(env, 'BRIDGE_SHUTDOWN_TIMEOUT', 10_000, 100, 10 * 60_000),
    apiTokens,
    apiSigningSecret: readSecret(env, 'BRIDGE_API_SIGNING_SECRET', production),
    jwtSecret
  }
}
