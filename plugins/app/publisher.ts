// `fastify.publisher`: the one delivery path for every way of publishing: each uuid (and a
// signature) is claimed with the delivery, through the transport, so a claim stays only for an
// event handed on (the backplane decides how); counts, and logs one line each.
import { randomUUID } from 'node:crypto'
import fp from 'fastify-plugin'
import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import { SIGNATURE_WINDOW_SECONDS } from '../../src/auth/request-signature.ts'
import type { PublishAnswer } from '../../src/schemas/answers.ts'
import type { EventName, EventPayloads, PublishBody } from '../../src/schemas/events.ts'
import { roomChannel } from '../../src/channels/names.ts'
import { apiDelivery, type Delivery } from '../../src/channels/delivery.ts'

declare module 'fastify' {
  interface FastifyInstance {
    publisher: Publisher
  }
}

export type OutgoingEvent = Delivery & {
  uuid?: string
  /** The HTTP API's room (`channel` is its channel), for the log line. */
  room?: string
}

export type Outcome = 'published' | 'duplicate'

/** Which way an event came in, for metrics and the log line. */
export type Source = 'api' | 'pusher' | 'laravel-redis'

/** A signature is claimed for as long as its timestamp can be fresh, so a replay is refused for all that time. */
const SIGNATURE_CLAIM_SECONDS = 2 * SIGNATURE_WINDOW_SECONDS
/** Longer than any uuid (at most 128 characters), so no uuid can take a signature's claim. */
const signatureKey = (signature: string) => `signature:${signature}`.padEnd(129, '.')

function createPublisher (fastify: FastifyInstance) {
  const { transport, metrics } = fastify
  const ttl = fastify.config.idempotencyTtlSeconds

  /** Delivers the events in order, all or nothing; a uuid claimed within the window makes a duplicate. Rejects with every claim given back. */
  async function publish (events: readonly OutgoingEvent[], log: FastifyBaseLogger, source: Source = 'api', signature?: string): Promise<Outcome[]> {
    const claimed = await transport.deliver(events, {
      keys: events.map(({ uuid }) => ttl > 0 ? uuid : undefined),
      ttlSeconds: ttl,
      ...(signature !== undefined && { guard: { key: signatureKey(signature), ttlSeconds: SIGNATURE_CLAIM_SECONDS } })
    })
    return events.map(({ event, channel, uuid, except, room }, index) => {
      const labels = { event: metrics.eventLabel(event), source }
      // The HTTP API's line names its room; the other sources say what they are and whom they skipped.
      const line = source === 'api' ? { event, room, uuid } : { event, room: channel, uuid, source, except }
      if (claimed[index] === true) {
        metrics.eventsPublished.inc(labels)
        log.info(line, 'published')
        return 'published'
      }
      metrics.duplicatePublishes.inc(labels)
      log.info(line, 'duplicate publish ignored')
      return 'duplicate'
    })
  }

  /** The HTTP API's publishes: each payload is the body with its uuid (made when absent), to the channel of its room. */
  async function publishApiEvents (items: ReadonlyArray<{ event: EventName, body: PublishBody<EventName> }>, log: FastifyBaseLogger, signature?: string): Promise<PublishAnswer[]> {
    const events = items.map(({ event, body }) => {
      const uuid = body.uuid ?? randomUUID()
      const payload = { ...body, uuid } as EventPayloads[typeof event]
      return { ...apiDelivery(roomChannel(body.room), event, payload), room: body.room, uuid }
    })
    const outcomes = await publish(events, log, 'api', signature)
    return events.map(({ event, room, uuid }, index) => outcomes[index] === 'duplicate'
      ? { ok: true, event, room, uuid, duplicate: true }
      : { ok: true, event, room, uuid })
  }

  async function publishApiEvent<E extends EventName> (event: E, body: PublishBody<E>, log: FastifyBaseLogger, signature?: string): Promise<PublishAnswer> {
    const [answer] = await publishApiEvents([{ event, body }], log, signature)
    return answer as PublishAnswer
  }

  return { publish, publishApiEvent, publishApiEvents }
}

export type Publisher = ReturnType<typeof createPublisher>

export default fp(async function publisher (fastify) {
  fastify.decorate('publisher', createPublisher(fastify))
}, {
  name: 'publisher',
  dependencies: ['transport', 'metrics']
})
