// `fastify.publisher`: the one delivery path. Every way of publishing hands its events here,
// whatever its wire format: claim each uuid once, deliver through the transport, give the
// claims back if that failed, count, and write one log line per event.
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

/** An event to deliver; with a `uuid`, a retry within the de-duplication window is not delivered again. */
export type OutgoingEvent = Delivery & {
  uuid?: string
  /** Section 1's room (`channel` is the room's channel), for the log line. */
  room?: string
}

/** What became of one event: delivered, or not delivered again because its uuid was claimed. */
export type Outcome = 'published' | 'duplicate'

/**
 * Which way an event came in, for metrics and the log line: section 1's `/api`, the Pusher
 * HTTP API, or Laravel's redis broadcaster.
 */
export type Source = 'api' | 'pusher' | 'laravel-redis'

/**
 * A signature is claimed for as long as its timestamp can be fresh (300 s either side of the
 * clock), so a replay is refused for the whole time it would otherwise be accepted.
 */
const SIGNATURE_CLAIM_SECONDS = 2 * SIGNATURE_WINDOW_SECONDS
/** A signature's claim key: longer than any uuid (at most 128 characters), so no uuid can take its claim. */
const signatureKey = (signature: string) => `signature:${signature}`.padEnd(129, '.')

function createPublisher (fastify: FastifyInstance) {
  const { transport, metrics } = fastify
  const { claims } = fastify.backplane
  const ttl = fastify.config.idempotencyTtlSeconds

  /**
   * Claims each uuid (in order, so a uuid repeated within the events is a duplicate the second
   * time); with a signature, claims it first: a signed request seen before delivers nothing.
   */
  async function claimAll (events: readonly OutgoingEvent[], signature: string | undefined): Promise<boolean[]> {
    if (signature !== undefined && !await claims.claim(signatureKey(signature), SIGNATURE_CLAIM_SECONDS)) {
      return events.map(() => false)
    }
    try {
      return await claimUuids(events)
    } catch (error) {
      if (signature !== undefined) await claims.release(signatureKey(signature)).catch(() => {})
      throw error
    }
  }

  async function claimUuids (events: readonly OutgoingEvent[]): Promise<boolean[]> {
    const claiming = events.map(({ uuid }) => uuid === undefined ? Promise.resolve(true) : claims.claim(uuid, ttl))
    const settled = await Promise.allSettled(claiming)
    const failed = settled.find((result) => result.status === 'rejected')
    if (failed === undefined) return settled.map((result) => (result as PromiseFulfilledResult<boolean>).value)
    await releaseAll(events.filter((_event, index) => settled[index]?.status === 'fulfilled' && (settled[index] as PromiseFulfilledResult<boolean>).value))
    throw failed.reason
  }

  async function releaseAll (events: readonly OutgoingEvent[]): Promise<void> {
    if (ttl <= 0) return
    await Promise.all(events.map(async ({ uuid }) => {
      if (uuid !== undefined) await claims.release(uuid).catch(() => {})
    }))
  }

  /**
   * Delivers the events in order, all or nothing, and resolves once they are handed on; a
   * uuid already claimed within the window makes its event a duplicate (not delivered).
   * Rejects (503 while the cluster's Redis is away) with every claim given back.
   */
  async function publish (events: readonly OutgoingEvent[], log: FastifyBaseLogger, source: Source = 'api', signature?: string): Promise<Outcome[]> {
    let claimed: boolean[]
    try {
      claimed = await claimAll(events, signature)
    } catch (error) {
      log.warn({ reason: String(error) }, 'publish refused: could not claim the uuid')
      throw error
    }
    const fresh = events.filter((_event, index) => claimed[index])
    try {
      await transport.deliver(fresh)
    } catch (error) {
      // Nothing was handed on: give the uuids back, so that the publisher's retry is not
      // answered as a duplicate. If Redis is gone for this too, the claims expire.
      await releaseAll(fresh)
      if (signature !== undefined) await claims.release(signatureKey(signature)).catch(() => {})
      throw error
    }
    return events.map(({ event, channel, uuid, except, room }, index) => {
      const labels = { event: metrics.eventLabel(event), source }
      // Section 1's line names its room; the other sources say what they are and whom they skipped.
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

  /**
   * Section 1's publishes: each payload is the request body with its uuid filled in (a v4
   * UUID when the publisher sent none), delivered to the channel of the body's room (which Echo
   * subscribes to as a private channel). `signature`: the request's verified signature, when
   * signing is on (a replay is answered as a duplicate).
   */
  async function publishApiEvents (items: ReadonlyArray<{ event: EventName, body: PublishBody<EventName> }>, log: FastifyBaseLogger, signature?: string): Promise<PublishAnswer[]> {
    const events = items.map(({ event, body }) => {
      const uuid = body.uuid ?? randomUUID()
      // The body with its uuid filled in is the event's payload, as the schemas define both.
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
  dependencies: ['backplane', 'transport', 'metrics']
})
