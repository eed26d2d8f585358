// Cluster mode keeps de-duplication claims in Redis, each a key with a time-to-live. A Redis
// whose maxmemory-policy may evict keys could drop a claim within its window, and a retry or
// a replayed signed publish would then be delivered again: say so once, at start.
import type { LogFn } from 'pino'
import type { RedisClient } from './connection.ts'

interface Log {
  info: LogFn
  warn: LogFn
}

/** Why `policy` may evict claims, or undefined when it never evicts. */
export function evictionRisk (policy: string): string | undefined {
  if (policy === 'noeviction') return undefined
  if (policy.startsWith('volatile-')) return 'volatile-* policies evict keys that have a time-to-live, and every claim has one'
  if (policy.startsWith('allkeys-')) return 'allkeys-* policies evict any key'
  return 'only noeviction keeps every key'
}

/**
 * Reads Redis's maxmemory-policy and warns when it could evict claims. Managed Redis often
 * refuses CONFIG: then one info line says it could not be checked.
 */
export async function checkClaimEviction (client: RedisClient, log: Log, redis: string): Promise<void> {
  let policy: string | undefined
  try {
    policy = (await client.configGet('maxmemory-policy'))['maxmemory-policy']
  } catch (error) {
    log.info({ redis, reason: error instanceof Error ? error.message : String(error) },
      'cluster mode: could not read Redis\'s maxmemory-policy (CONFIG GET refused); it must be noeviction, or de-duplication claims may be evicted within their window')
    return
  }
  const risk = policy === undefined ? undefined : evictionRisk(policy)
  if (risk === undefined) return
  log.warn({ redis, maxmemoryPolicy: policy },
    `cluster mode: Redis's maxmemory-policy is ${policy}: when Redis's memory is full it may evict de-duplication claims ` +
    `(${risk}), and a retried or replayed publish would be delivered again; set maxmemory-policy to noeviction`)
}
