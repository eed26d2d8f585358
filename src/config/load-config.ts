// Configuration: read once at start from the environment (and `.env`), each variable as
// src/config/schema.ts declares it, then the rules that span variables.
import { existsSync, readFileSync } from 'node:fs'
import { parse as parseDotenv } from 'dotenv'
import type { TProperties } from 'typebox'
import { ConfigError } from './config-error.ts'
import type { DefaultContext, VariableSchema } from './kinds.ts'
import { parseValue, type ParseContext } from './parse-value.ts'
import { ConfigSchema, type Config } from './schema.ts'
import { isGroup, isVariable, variablesOf, type GroupSchema } from './variables.ts'

export type Env = Record<string, string | undefined>

/** Reads `.env` from the working directory; variables already set in the environment win. */
export function readDotenv (path = '.env'): Env {
  if (!existsSync(path)) return {}
  return parseDotenv(readFileSync(path))
}

function readRaw (env: Env, schema: VariableSchema): string | undefined {
  const value = env[schema.env]
  if (schema.allowEmpty === true) return value
  const trimmed = value?.trim()
  return trimmed === '' ? undefined : trimmed
}

function isUnset (value: unknown): boolean {
  return value === undefined || (Array.isArray(value) && value.length === 0)
}

/** The variable's value, its constant default, or undefined (unset: no default, or a computed one). */
function readVariable (env: Env, schema: VariableSchema, context: ParseContext): unknown {
  const raw = readRaw(env, schema)
  const value = raw === undefined ? structuredClone(schema.default) : parseValue(schema, raw, context)
  if (context.production && schema.requiredInProduction !== undefined && isUnset(value)) {
    throw new ConfigError(`${schema.env} is required when NODE_ENV=production (${schema.requiredInProduction})`)
  }
  return value
}

/** All of the group's variables, or none of them (undefined). */
function readGroup (env: Env, group: GroupSchema, context: ParseContext): Record<string, unknown> | undefined {
  const missing = variablesOf(group.properties).filter((schema) => readRaw(env, schema) === undefined).map((schema) => schema.env)
  if (missing.length === Object.keys(group.properties).length) return undefined
  if (missing.length > 0) throw new ConfigError(`${missing.join(', ')} must be set too: ${group.together}`)
  return readProperties(env, group.properties, context)
}

/** Every field `properties` reads from a variable; derived fields and unset ones are left out. */
function readProperties (env: Env, properties: TProperties, context: ParseContext): Record<string, unknown> {
  const values: Record<string, unknown> = {}
  for (const [field, schema] of Object.entries(properties)) {
    const value = isVariable(schema) ? readVariable(env, schema, context) : isGroup(schema) ? readGroup(env, schema, context) : undefined
    if (value !== undefined) values[field] = value
  }
  return values
}

/** Defaults that depend on the mode or the machine, for the fields still unset. */
function computeDefaults (values: Record<string, unknown>, context: DefaultContext): void {
  for (const [field, schema] of Object.entries(ConfigSchema.properties)) {
    if (isVariable(schema) && schema.computedDefault !== undefined && values[field] === undefined) {
      values[field] = schema.computedDefault(context)
    }
  }
}

/** One Redis deployment at most; on a Redis Cluster, a prefix that leaves the bridge's keys to spread over slots. */
function checkRedisDeployment (values: Record<string, unknown>): void {
  const chosen = ([['REDIS_URL', values.redisUrl], ['REDIS_SENTINELS', values.redisSentinel], ['REDIS_CLUSTER_NODES', values.redisClusterNodes]] as const)
    .filter(([, value]) => value !== undefined).map(([name]) => name)
  if (chosen.length > 1) {
    throw new ConfigError(`${chosen.join(' and ')} are both set: set only one of REDIS_URL (one Redis), REDIS_SENTINELS (Sentinel) or REDIS_CLUSTER_NODES (Redis Cluster)`)
  }
  // A `{` starts a hash tag: Redis Cluster would hash only what follows it, the same for every key.
  const prefix = String(values.redisPrefix)
  if (values.redisClusterNodes !== undefined && prefix.includes('{')) {
    throw new ConfigError(`BRIDGE_REDIS_PREFIX must not hold a hash tag ({…}) with REDIS_CLUSTER_NODES: it would put every key of the bridge in one slot of the Redis Cluster, got "${prefix}"`)
  }
}

function named (entries: ReadonlyArray<readonly [string, unknown]>): string[] {
  return entries.filter(([, value]) => value !== undefined && value !== false).map(([name]) => name)
}

/** "A needs" or "A, B need": the variables set, as the subject of a message. */
function listed (names: string[], one: string, many: string): string {
  return `${names.join(', ')} ${names.length > 1 ? many : one}`
}

function isTlsUrl (url: unknown): boolean {
  return typeof url === 'string' && new URL(url).protocol === 'rediss:'
}

/** Credentials and TLS are for REDIS_SENTINELS and REDIS_CLUSTER_NODES; a REDIS_URL carries its own. */
function checkRedisAccess (values: Record<string, unknown>): void {
  const server = named([['REDIS_USERNAME', values.redisUsername], ['REDIS_PASSWORD', values.redisPassword], ['REDIS_TLS', values.redisTls]])
  const sentinel = named([['REDIS_SENTINEL_USERNAME', values.redisSentinelUsername], ['REDIS_SENTINEL_PASSWORD', values.redisSentinelPassword]])
  if (values.redisUrl !== undefined && server.length > 0) {
    throw new ConfigError(`${listed(server, 'does', 'do')} not apply to REDIS_URL: write them in the URL, rediss://user:password@host:6379 (rediss:// for TLS, redis:// without; percent-encode special characters)`)
  }
  if (server.length > 0 && values.redisSentinel === undefined && values.redisClusterNodes === undefined) {
    throw new ConfigError(`${listed(server, 'needs', 'need')} REDIS_SENTINELS or REDIS_CLUSTER_NODES: they are for the Redis servers of a Sentinel set or a Redis Cluster`)
  }
  if (sentinel.length > 0 && values.redisSentinel === undefined) {
    throw new ConfigError(`${listed(sentinel, 'needs', 'need')} REDIS_SENTINELS: they are the sentinels' own credentials`)
  }
  if (values.redisUsername !== undefined && values.redisPassword === undefined) throw new ConfigError('REDIS_USERNAME needs REDIS_PASSWORD: the ACL user logs in with it')
  if (values.redisSentinelUsername !== undefined && values.redisSentinelPassword === undefined) {
    throw new ConfigError('REDIS_SENTINEL_USERNAME needs REDIS_SENTINEL_PASSWORD: the ACL user logs in with it')
  }
  if (values.redisTlsCa !== undefined && values.redisTls !== true && !isTlsUrl(values.redisUrl) && !isTlsUrl(values.laravelRedisUrl)) {
    throw new ConfigError('REDIS_TLS_CA is set but no Redis connection uses TLS: set REDIS_TLS=on (with REDIS_SENTINELS or REDIS_CLUSTER_NODES), or use a rediss:// REDIS_URL or BRIDGE_LARAVEL_REDIS_URL')
  }
}

export function loadConfig (env: Env = { ...readDotenv(), ...process.env }): Config {
  // The mode comes first: secrets and CORS_ORIGINS are checked by its rules.
  const production = readVariable(env, ConfigSchema.properties.nodeEnv, { production: false }) === 'production'
  const values = readProperties(env, ConfigSchema.properties, { production })
  checkRedisDeployment(values)
  checkRedisAccess(values)
  const openDevelopment = !production && isUnset(values.apiTokens) && values.jwtSecret === undefined
  computeDefaults(values, { production, openDevelopment })
  if (values.webhookUrl !== undefined && values.pusher === undefined) {
    throw new ConfigError('BRIDGE_WEBHOOK_URL needs BRIDGE_PUSHER_APP_ID, BRIDGE_PUSHER_KEY and BRIDGE_PUSHER_SECRET: webhooks are signed with that app\'s key and secret')
  }
  // Each field is what its schema declares (test/unit/src/config/schema.test.ts checks it against the schema).
  return { ...values, production, openDevelopment } as Config
}
