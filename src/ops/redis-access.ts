// How the bridge logs in to the Redis servers of REDIS_SENTINELS or REDIS_CLUSTER_NODES (a
// REDIS_URL carries its own), and how log lines say it: never the password itself.
import type { Config } from '../config/index.ts'

export interface RedisAccess {
  username?: string
  password?: string
  /** TLS, verified against these CA certificates (PEM) or, without them, Node's own. */
  tls?: { ca?: string }
}

/** The data nodes' access and the sentinels' (the same TLS, their own credentials). */
export function redisAccessOf (config: Config): { servers: RedisAccess, sentinels: RedisAccess } {
  const tls = config.redisTls ? { ca: config.redisTlsCa } : undefined
  return {
    servers: { username: config.redisUsername, password: config.redisPassword, tls },
    sentinels: { username: config.redisSentinelUsername, password: config.redisSentinelPassword, tls }
  }
}

/** " with a password over TLS", " with a password as app", " over TLS" or "". */
export function describeAccess (access: RedisAccess | undefined): string {
  const password = access?.password === undefined ? '' : ` with a password${access.username === undefined ? '' : ` as ${access.username}`}`
  return `${password}${access?.tls === undefined ? '' : ' over TLS'}`
}
