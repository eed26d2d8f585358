// The one place that decides how the bridge is deployed: alone, or as a cluster on Redis
// (REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES). Everything else works through the
// Backplane interface it returns.
import type { Config } from '../config/index.ts'
import type { Log } from '../ops/log.ts'
import type { Backplane } from './backplane.ts'
import { createLocalBackplane } from './local/local-backplane.ts'
import { redisAccessOf } from '../ops/redis-access.ts'
import type { RedisDeployment } from './redis/connection.ts'

export interface BackplaneOptions {
  config: Config
  log: Log
  /** How long a dropped client's session is kept for it to come back. */
  recoveryWindowMs: number
}

/** The CAs a rediss:// URL is verified with: REDIS_TLS_CA's, or Node's own (undefined). */
export function caForUrl (config: Config, url: string): string | undefined {
  return new URL(url).protocol === 'rediss:' ? config.redisTlsCa : undefined
}

/** The Redis deployment the configuration names, if any (the config allows one at most). */
export function redisDeploymentOf (config: Config): RedisDeployment | undefined {
  const { servers, sentinels } = redisAccessOf(config)
  if (config.redisSentinel !== undefined) {
    return { kind: 'sentinel', sentinels: config.redisSentinel.nodes, name: config.redisSentinel.name, access: servers, sentinelAccess: sentinels }
  }
  if (config.redisClusterNodes !== undefined) return { kind: 'cluster', nodes: config.redisClusterNodes, access: servers }
  if (config.redisUrl !== undefined) return { kind: 'single', url: config.redisUrl, ca: caForUrl(config, config.redisUrl) }
  return undefined
}

export async function createBackplane ({ config, log, recoveryWindowMs }: BackplaneOptions): Promise<Backplane> {
  const deployment = redisDeploymentOf(config)
  if (deployment === undefined) return createLocalBackplane({ maxClaims: config.idempotencyMaxEntries, recoveryWindowMs })
  // Loaded only for a cluster: the Redis client is most of the bridge's code by size.
  const { createRedisBackplane } = await import('./redis/redis-backplane.ts')
  return await createRedisBackplane({
    deployment,
    prefix: config.redisPrefix,
    maxEntries: config.redisStreamMaxEntries,
    recoveryWindowMs,
    log
  })
}
