// `fastify.publishEvent`: the one place where an accepted publish becomes a socket.io event.
import { randomUUID } from 'node:crypto'
import fp from 'fastify-plugin'
import type { FastifyBaseLogger } from 'fastify'
import type { EventName, EventPayloads, PublishBody } from '../src/schemas/events.ts'
import type { PublishAnswer } from '../src/schemas/answers.ts'
import { RedisUnavailableError } from '../src/cluster/unavailable.ts'

declare module 'fastify' {
  interface FastifyInstance {
    publishEvent: <E extends EventName>(event: E, body: PublishBody<E>, log: FastifyBaseLogger) => Promise<PublishAnswer>
  }
}

export default fp(async function publisher (fastify) {
  const ttl = fastify.config.idempotencyTtlSeconds

  async function publishEvent<E extends EventName> (event: E, body: PublishBody<E>, log: FastifyBaseLogger): Promise<PublishAnswer> {
    const uuid = body.uuid ?? randomUUID()
    const room = body.room
    // In cluster mode both the claim and the event go through Redis: without it, refuse
    // (503, retry later) rather than answer 202 for an event other nodes never see.
    if (!fastify.redisReady()) throw new RedisUnavailableError()
    let claimed: boolean
    try {
      claimed = await fastify.idempotencyStore.claim(uuid, ttl)
    } catch (error) {
      log.warn({ event, room, uuid, reason: String(error) }, 'publish refused: could not claim the uuid')
      throw new RedisUnavailableError()
    }
    if (!claimed) {
      fastify.metrics.duplicatePublishes.inc({ event })
      log.info({ event, room, uuid }, 'duplicate publish ignored')
      return { ok: true, event, room, uuid, duplicate: true }
    }
    // The payload is the accepted body with its uuid filled in, and nothing else.
    const payload = { ...body, uuid } as unknown as EventPayloads[E]
    try {
      await fastify.confirmBroadcast(() => {
        const target = fastify.io.to(room)
        const emit = target.emit as (event: E, data: EventPayloads[E]) => boolean
        emit.call(target, event, payload)
      })
    } catch (error) {
      // Nothing was sent (or Redis did not store it for the other nodes): give the uuid back
      // so that the publisher's retry is not answered as a duplicate. If Redis is gone for
      // this too, the claim stays until it expires.
      if (ttl > 0) await fastify.idempotencyStore.release(uuid).catch(() => {})
      if (fastify.redis === null) throw error
      log.warn({ event, room, uuid, reason: String(error) }, 'publish failed: Redis did not store the event')
      throw new RedisUnavailableError('Redis did not store the event (cluster mode); retry later')
    }
    fastify.metrics.eventsPublished.inc({ event })
    log.info({ event, room, uuid }, 'published')
    return { ok: true, event, room, uuid }
  }

  fastify.decorate('publishEvent', publishEvent)
}, {
  name: 'publisher',
  dependencies: ['fastify-socket.io', 'idempotency', 'metrics', 'redis']
})
