// The de-duplication store behind `fastify.idempotencyStore`.
import fp from 'fastify-plugin'
import { MemoryIdempotencyStore } from '../src/idempotency/memory-store.ts'
import type { IdempotencyStore } from '../src/idempotency/store.ts'

declare module 'fastify' {
  interface FastifyInstance {
    idempotencyStore: IdempotencyStore
  }
}

export default fp(async function idempotency (fastify) {
  const store: IdempotencyStore = new MemoryIdempotencyStore({ maxEntries: fastify.config.idempotencyMaxEntries })
  fastify.decorate('idempotencyStore', store)
  fastify.addHook('onClose', async () => {
    await store.close()
  })
}, { name: 'idempotency' })
