// The one place that decides how the bridge is deployed: alone, or as a cluster on Redis
// (REDIS_URL). Everything else works through the Backplane interface it returns.
import type { Config } from '../config/index.ts'
import type { Log } from '../ops/log.ts'
import type { Backplane } from './backplane.ts'
import { createLocalBackplane } from './local/local-backplane.ts'

export interface BackplaneOptions {
  config: Config
  log: Log
  /** How long a dropped client's session is kept for it to come back. */
  recoveryWindowMs: number
}

export async function createBackplane ({ config, log, recoveryWindowMs }: BackplaneOptions): Promise<Backplane> {
  if (config.redisUrl === undefined) return createLocalBackplane({ maxClaims: config.idempotencyMaxEntries, recoveryWindowMs })
  // Loaded only for a cluster: the Redis client is most of the bridge's code by size.
  const { createRedisBackplane } = await import('./redis/redis-backplane.ts')
  return await createRedisBackplane({
    url: config.redisUrl,
    prefix: config.redisPrefix,
    maxEntries: config.redisStreamMaxEntries,
    recoveryWindowMs,
    log
  })
}
