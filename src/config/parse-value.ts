// One parser per kind of variable: its text becomes its value, or a one-line ConfigError that
// names the variable (and repeats the value only when it cannot hold a secret).
import { X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import proxyAddr from '@fastify/proxy-addr'
import { ConfigError } from './config-error.ts'
import type { Kind, VariableSchema } from './kinds.ts'

// Shorter secrets could be guessed offline from one signed token or request.
export const MIN_SECRET_BYTES = 32

export interface ParseContext {
  production: boolean
}

type Parser = (name: string, raw: string, schema: VariableSchema, context: ParseContext) => unknown

function checkSecretLength (name: string, value: string, production: boolean): void {
  if (production && Buffer.byteLength(value) < MIN_SECRET_BYTES) {
    throw new ConfigError(`${name} must be at least ${MIN_SECRET_BYTES} bytes when NODE_ENV=production (e.g. \`openssl rand -hex 32\`)`)
  }
}

function list (raw: string): string[] {
  return raw.split(',').map((entry) => entry.trim()).filter(Boolean)
}

function parseText (name: string, raw: string, schema: VariableSchema, { production }: ParseContext): string {
  if (schema.secret === true) checkSecretLength(name, raw, production)
  if (schema.pattern !== undefined && !new RegExp(schema.pattern).test(raw)) {
    const echo = schema.echo !== false && schema.secret !== true
    throw new ConfigError(`${name} must be ${schema.rule ?? `like ${schema.pattern}`}${echo ? `, got "${raw}"` : ''}`)
  }
  return raw
}

function parseInteger (name: string, raw: string, { minimum = 0, maximum = Number.MAX_SAFE_INTEGER }: VariableSchema): number {
  if (!/^\d+$/.test(raw)) {
    throw new ConfigError(`${name} must be a whole number between ${minimum} and ${maximum}, got "${raw}"`)
  }
  const value = Number(raw)
  if (value < minimum || value > maximum) {
    throw new ConfigError(`${name} must be between ${minimum} and ${maximum}, got ${value}`)
  }
  return value
}

function parseFraction (name: string, raw: string): number {
  const value = Number(raw)
  if (!/^\d*\.?\d+$/.test(raw) || value > 1) {
    throw new ConfigError(`${name} must be a number between 0 and 1 (e.g. 0.98), got "${raw}"`)
  }
  return value
}

function parseSwitch (name: string, text: string): boolean {
  const raw = text.toLowerCase()
  if (raw === 'on' || raw === 'true' || raw === '1') return true
  if (raw === 'off' || raw === 'false' || raw === '0') return false
  throw new ConfigError(`${name} must be on or off, got "${raw}"`)
}

function parseChoice (name: string, raw: string, schema: VariableSchema): string {
  const values = schema.enum ?? []
  if (!values.includes(raw)) throw new ConfigError(`${name} must be one of ${values.join(', ')}, got "${raw}"`)
  return raw
}

function parseChoices (name: string, raw: string, schema: VariableSchema): string[] {
  const values = schema.values ?? []
  const chosen = list(raw)
  for (const entry of chosen) {
    if (!values.includes(entry)) throw new ConfigError(`${name} must list some of ${values.join(', ')}, got "${entry}"`)
  }
  return [...new Set(chosen)]
}

function parseTokens (name: string, raw: string, _schema: VariableSchema, { production }: ParseContext): string[] {
  const tokens = list(raw)
  for (const token of tokens) checkSecretLength(name, token, production)
  return tokens
}

function parseRedisUrl (name: string, raw: string): string {
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

/** `host:port,…`; a host is a name, an IPv4 address or a bracketed IPv6 address. */
function parseRedisNodes (name: string, raw: string): Array<{ host: string, port: number }> {
  const entries = list(raw)
  if (entries.length === 0) throw new ConfigError(`${name} must list host:port entries separated by commas (e.g. 10.0.0.1:26379,10.0.0.2:26379)`)
  return entries.map((entry) => {
    const match = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$/.exec(entry)
    const port = Number(match?.[2])
    if (match === null || port < 1 || port > 65535) {
      throw new ConfigError(`${name} must list host:port entries separated by commas (e.g. 10.0.0.1:26379,10.0.0.2:26379), got "${entry}"`)
    }
    return { host: (match[1] as string).replace(/^\[|\]$/g, ''), port }
  })
}

/** The certificates of the PEM file at `path`; every one must parse, and there must be one. */
function parsePemFile (name: string, path: string): string {
  let pem: string
  try {
    pem = readFileSync(path, 'utf8')
  } catch (error) {
    throw new ConfigError(`${name} must be a readable PEM file of CA certificates, could not read "${path}" (${(error as NodeJS.ErrnoException).code ?? 'error'})`)
  }
  const certificates = pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? []
  const valid = certificates.length > 0 && certificates.every((certificate) => {
    try {
      return new X509Certificate(certificate) !== undefined
    } catch {
      return false
    }
  })
  if (!valid) throw new ConfigError(`${name} must be a PEM file of CA certificates (-----BEGIN CERTIFICATE----- …), "${path}" is not`)
  return certificates.join('\n')
}

function parseHttpUrl (name: string, raw: string, schema: VariableSchema): string {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new ConfigError(`${name} must be a URL like ${schema.example ?? 'https://example.com'}, got "${raw}"`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`${name} must start with http:// or https://, got "${url.protocol}//"`)
  }
  return raw
}

function parseOrigins (name: string, raw: string, _schema: VariableSchema, { production }: ParseContext): string[] | true {
  if (raw === '*') {
    if (production) throw new ConfigError(`${name} must list the frontend origins when NODE_ENV=production, not "*"`)
    return true
  }
  const origins = list(raw)
  for (const origin of origins) {
    let url: URL
    try {
      url = new URL(origin)
    } catch {
      throw new ConfigError(`${name} must be "*" or comma-separated origins like https://app.example.com, got "${origin}"`)
    }
    if (url.origin !== origin) {
      throw new ConfigError(`${name} entry "${origin}" is not an origin (scheme://host[:port], no path or trailing slash)`)
    }
  }
  return origins
}

/** As Fastify's `trustProxy` takes them: addresses, CIDR ranges, loopback/linklocal/uniquelocal. */
function parseProxies (name: string, raw: string): string[] {
  const entries = list(raw)
  for (const entry of entries) {
    try {
      proxyAddr.compile(entry)
    } catch {
      throw new ConfigError(`${name} must list proxy addresses or CIDR ranges (e.g. 10.0.0.0/8,loopback), got "${entry}"`)
    }
  }
  return entries
}

const parsers: Record<Kind, Parser> = {
  text: parseText,
  tokens: parseTokens,
  integer: parseInteger,
  fraction: parseFraction,
  switch: parseSwitch,
  choice: parseChoice,
  choices: parseChoices,
  'redis-url': parseRedisUrl,
  'redis-nodes': parseRedisNodes,
  'pem-file': parsePemFile,
  'http-url': parseHttpUrl,
  origins: parseOrigins,
  proxies: parseProxies
}

/** The value of a variable set to `raw` (trimmed, not empty unless the variable allows it). */
export function parseValue (schema: VariableSchema, raw: string, context: ParseContext): unknown {
  return parsers[schema.kind](schema.env, raw, schema, context)
}
