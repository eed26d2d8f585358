// Cluster mode (REDIS_URL set): the Redis connection, the socket.io adapter that makes every
// node's events reach every node's sockets, and their health. Without REDIS_URL it does nothing.
import fp from 'fastify-plugin'
import { clusterAdapter } from '../src/cluster/adapter.ts'
import { within } from '../src/cluster/deadline.ts'
import {
  connectRedis,
  describeRedisUrl,
  RedisUnreachableError,
  STARTUP_WAIT_MS,
  type RedisClient
} from '../src/cluster/redis-connection.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** The Redis client in cluster mode; null on a single node. */
    redis: RedisClient | null
    /** False while Redis is unreachable in cluster mode; always true on a single node. */
    redisReady: () => boolean
    /**
     * Runs `emit` (a broadcast with `fastify.io`) and resolves once the broadcast is stored in
     * Redis, so other nodes get it; rejects when Redis failed. At once on a single node.
     */
    confirmBroadcast: (emit: () => void) => Promise<void>
  }
}

export default fp(async function redis (fastify) {
  const url = fastify.config.redisUrl
  if (url === undefined) {
    fastify.decorate('redis', null)
    fastify.decorate('redisReady', () => true)
    fastify.decorate('confirmBroadcast', async (emit: () => void) => { emit() })
    return
  }

  const where = describeRedisUrl(url)
  const prefix = fastify.config.redisPrefix
  const client = await connectRedis(url, `${prefix}node:${process.pid}`)
  fastify.log.info({ redis: where }, 'cluster mode: connected to Redis')

  // One line when the connection goes and one when it is back, not one per retry.
  let lost = false
  client.on('error', (error: Error) => {
    if (lost || client.isReady) return
    lost = true
    fastify.log.error({ redis: where, reason: error.message }, 'Redis unreachable: /ready answers 503 and publishes are refused until it is back')
  })
  client.on('ready', () => {
    if (!lost) return
    lost = false
    fastify.log.info({ redis: where }, 'Redis reachable again')
  })

  const cluster = clusterAdapter(client, prefix)
  fastify.io.adapter(cluster.adapter)
  // Not started before the adapter reads the event stream: events other nodes published
  // meanwhile would not reach this node's sockets.
  try {
    await within(cluster.connected(), STARTUP_WAIT_MS, 'starting the adapter')
  } catch {
    await cluster.close()
    client.destroy()
    throw new RedisUnreachableError(`cluster mode: Redis at ${where} stopped answering while the bridge started`)
  }

  fastify.decorate('redis', client)
  fastify.decorate('redisReady', () => client.isReady)
  fastify.readiness.addCheck('Redis unreachable (cluster mode)', () => client.isReady)
  fastify.decorate('confirmBroadcast', cluster.confirmBroadcast)

  fastify.addHook('onClose', async () => {
    // socket.io first: sockets it closes save their session in Redis, so their clients can
    // recover on another node. (The socket.io plugin closes it again afterwards; harmless.)
    await fastify.io.close()
    await cluster.close()
    if (client.isReady) await client.close()
    else client.destroy()
  })
}, {
  name: 'redis',
  dependencies: ['fastify-socket.io', 'readiness']
})
