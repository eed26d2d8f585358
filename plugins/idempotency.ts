// The de-duplication store behind `fastify.idempotencyStore`: in Redis in cluster mode, so
// every node sees every claim, in memory on a single node.
import fp from 'fastify-plugin'
import { MemoryIdempotencyStore } from '../src/idempotency/memory-store.ts'
import { RedisIdempotencyStore } from '../src/idempotency/redis-store.ts'
import type { IdempotencyStore } from '../src/idempotency/store.ts'

declare module 'fastify' {
  interface FastifyInstance {
    idempotencyStore: IdempotencyStore
  }
}

export default fp(async function idempotency (fastify) {
  const store: IdempotencyStore = fastify.redis === null
    ? new MemoryIdempotencyStore({ maxEntries: fastify.config.idempotencyMaxEntries })
    : new RedisIdempotencyStore(fastify.redis, `${fastify.config.redisPrefix}idempotency:`)
  fastify.decorate('idempotencyStore', store)
  fastify.addHook('onClose', async () => {
    await store.close()
  })
}, { name: 'idempotency', dependencies: ['redis'] })
