// `fastify.publishEvent`: the one place where an accepted publish becomes a socket.io event.
import { randomUUID } from 'node:crypto'
import fp from 'fastify-plugin'
import type { FastifyBaseLogger } from 'fastify'
import type { EventName, EventPayloads, PublishBody } from '../src/schemas/events.ts'
import type { PublishAnswer } from '../src/schemas/answers.ts'

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
    if (!(await fastify.idempotencyStore.claim(uuid, ttl))) {
      fastify.metrics.duplicatePublishes.inc({ event })
      log.info({ event, room, uuid }, 'duplicate publish ignored')
      return { ok: true, event, room, uuid, duplicate: true }
    }
    // The payload is the accepted body with its uuid filled in, and nothing else.
    const payload = { ...body, uuid } as unknown as EventPayloads[E]
    try {
      const target = fastify.io.to(room)
      const emit = target.emit as (event: E, data: EventPayloads[E]) => boolean
      emit.call(target, event, payload)
    } catch (error) {
      // Nothing was sent: give the uuid back so that the publisher's retry is not a "duplicate".
      await fastify.idempotencyStore.release(uuid)
      throw error
    }
    fastify.metrics.eventsPublished.inc({ event })
    log.info({ event, room, uuid }, 'published')
    return { ok: true, event, room, uuid }
  }

  fastify.decorate('publishEvent', publishEvent)
}, {
  name: 'publisher',
  dependencies: ['fastify-socket.io', 'idempotency', 'metrics']
})
