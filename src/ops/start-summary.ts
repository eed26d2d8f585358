// The start line: every path the configuration turned on, named, so a missing or wrong variable
// shows at LOG_LEVEL=info before the first client does. Never a secret, only which ones are set.
import type { Config } from '../config/index.ts'
import { describeAccess, redisAccessOf } from './redis-access.ts'
import { describeRedisUrl } from './redis-url.ts'

function endpointOf (url: string): string {
  const { origin, pathname } = new URL(url)
  return `${origin}${pathname}`
}

function addresses (nodes: ReadonlyArray<{ host: string, port: number }>): string {
  return nodes.map(({ host, port }) => `${host.includes(':') ? `[${host}]` : host}:${port}`).join(', ')
}

/** Which Redis deployment cluster mode runs on, if any. */
function deploymentOf (config: Config): string {
  const keys = `(keys under ${config.redisPrefix})`
  const { servers, sentinels } = redisAccessOf(config)
  if (config.redisSentinel !== undefined) {
    return `cluster mode on the Redis primary "${config.redisSentinel.name}"${describeAccess(servers)} of the sentinels ${addresses(config.redisSentinel.nodes)}${describeAccess(sentinels)} ${keys}`
  }
  if (config.redisClusterNodes !== undefined) return `cluster mode on the Redis Cluster of ${addresses(config.redisClusterNodes)}${describeAccess(servers)} ${keys}`
  if (config.redisUrl !== undefined) return `cluster mode on ${describeRedisUrl(config.redisUrl)} ${keys}`
  return 'single node (no REDIS_URL)'
}

/** One entry per path: what it is and how it is guarded. */
export function enabledPaths (config: Config): string[] {
  const apiTokens = config.apiTokens !== undefined && config.apiTokens.length > 0
  const publishers = apiTokens
    ? `bearer token (BRIDGE_API_TOKEN)${config.apiSigningSecret === undefined ? '' : ' and request signing'}`
    : 'open, no token'
  const paths = [`HTTP API /api: ${publishers}`]

  if (config.jwtSecret !== undefined) paths.push('socket.io rooms: the connection JWT (BRIDGE_JWT_SECRET)')
  else if (config.authEndpoint !== undefined) paths.push('socket.io rooms: refused (no BRIDGE_JWT_SECRET)')
  else paths.push('socket.io rooms: open, every room')

  if (config.authEndpoint !== undefined) paths.push(`Laravel Echo: private and presence channels authorized by Laravel at ${endpointOf(config.authEndpoint)}`)
  else if (config.jwtSecret !== undefined) paths.push('Laravel Echo: private and presence channels authorized by the connection JWT\'s rooms claim')
  else paths.push('Laravel Echo: open, every channel allowed')

  if (config.pusher !== undefined) {
    paths.push(`Pusher HTTP API /apps/${config.pusher.appId} (Laravel's pusher broadcaster)`)
    paths.push(`Pusher protocol /app/${config.pusher.key} (pusher-js, Echo's reverb and pusher connectors), channels signed with the app secret`)
  }
  if (config.webhookUrl !== undefined) {
    paths.push(`webhooks to ${endpointOf(config.webhookUrl)}: ${config.webhookEvents.join(', ')}, signed with the Pusher app's secret`)
  }
  if (config.laravelRedisUrl !== undefined) {
    paths.push(`Laravel's redis broadcaster: channels ${config.laravelRedisPrefix}* on ${describeRedisUrl(config.laravelRedisUrl)}`)
  }
  paths.push(deploymentOf(config))

  if (config.corsOrigins === true) paths.push('browsers: any origin, without cookies (CORS_ORIGINS=*)')
  else if (config.corsOrigins.length === 0) paths.push('browsers: none (CORS_ORIGINS is not set)')
  else paths.push(`browsers: ${config.corsOrigins.join(', ')}, with cookies`)
  return paths
}
