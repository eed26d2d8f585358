// Laravel's `redis` broadcaster as a source of events (contract 5.2): with
// BRIDGE_LARAVEL_REDIS_URL set, the bridge PSUBSCRIBEs `<BRIDGE_LARAVEL_REDIS_PREFIX>*` on the
// app's Redis and hands each `{event, data, socket}` message to `fastify.publisher`, `socket`
// being the `toOthers()` exclusion. Reading never waits on Redis round trips: each message is
// only numbered and queued (bounded), and one worker delivers what arrived in batches, so a
// burst does not fill Redis's output buffer for the bridge until Redis drops the subscription.
//
// In a cluster every node receives every message. Each node numbers identical messages
// (same channel, same bytes) as they come, 1, 2, 3, … within a short window, and claims
// `laravel-redis:<hash>:<number>` in the cluster's claim store: only the node that wins the
// claim publishes, through the cluster's delivery like any publish, so each socket gets the
// event once and missed-event recovery covers it. Limits (docs/broadcasting.md): a node that
// misses some of a burst of identical messages (reconnecting at that moment) numbers the rest
// differently, so one of them may be delivered twice or not at all; a node slower than the
// claim's lifetime to see a message delivers it a second time.
import { createHash } from 'node:crypto'
import fp from 'fastify-plugin'
import { createClient } from 'redis'
import { createBatchQueue } from '../../src/broadcasting/batch-queue.ts'
import { readBroadcastMessage, type DropReason } from '../../src/broadcasting/laravel-redis-message.ts'
import { createOccurrenceCounter } from '../../src/broadcasting/occurrences.ts'
import { describeRedisUrl } from '../../src/ops/redis-url.ts'
import type { BroadcastDelivery } from '../../src/channels/delivery.ts'

/** How long a node's claim on a message lasts, and how long identical messages keep being numbered on. */
const CLAIM_SECONDS = 10
/** Most distinct messages numbered at once (a flood of unique messages forgets the oldest). */
const MAX_TRACKED_MESSAGES = 100_000
/** How long the start waits for the first subscription before going on, not ready. */
const STARTUP_WAIT_MS = 5000
/** At most one line per kind of trouble in this many ms; the next one says how many were not logged. */
const LOG_EVERY_MS = 10_000
/** Most bytes of messages waiting to be delivered (Redis's own default hard limit for a subscriber). */
const QUEUE_MAX_BYTES = 32 * 1024 * 1024
/** Most messages delivered as one batch. */
const MAX_BATCH_MESSAGES = 500

/** What the line about a lost subscription says about its likely cause. */
const RESUBSCRIBE_HINT = 'if Redis stayed up, it closed the subscription because its output buffer for the bridge passed ' +
  '`client-output-buffer-limit pubsub` (default 32mb, or 8mb for 60 s): raise it (docs/broadcasting.md)'

type Claimed = { won: boolean[] } | { error: unknown }

/** A message as it arrived, numbered among identical ones. */
interface Received {
  channel: string
  message: string
  /** Its claim key in the cluster's claim store. */
  key: string
}

/** Wait before the next reconnection attempt: quick at first, then every 2 seconds, forever. */
function reconnectDelay (retries: number): number {
  return Math.min(100 * 2 ** retries, 2000)
}

/** A log call made at most once per LOG_EVERY_MS; the calls in between are counted. */
function rateLimited (write: (details: Record<string, unknown>) => void) {
  let last = 0
  let suppressed = 0
  return (details: Record<string, unknown>) => {
    const now = Date.now()
    if (now - last < LOG_EVERY_MS) {
      suppressed += 1
      return
    }
    write(suppressed > 0 ? { ...details, suppressed } : details)
    last = now
    suppressed = 0
  }
}

export default fp(async function laravelRedis (fastify) {
  const { laravelRedisUrl: url, laravelRedisPrefix: prefix, bodyLimit } = fastify.config
  if (url === undefined) return
  const { publisher, backplane, metrics, readiness } = fastify
  const { log } = fastify
  const where = describeRedisUrl(url)
  const pattern = `${prefix}*`

  const subscriber = createClient({
    url,
    // Shown by CLIENT LIST on the app's Redis.
    name: `bridge:laravel-broadcasts:${process.pid}`,
    socket: { reconnectStrategy: reconnectDelay }
  })

  // One line when the connection goes and one when it is back, not one per retry.
  let lost = false
  let lostAt = 0
  subscriber.on('error', (error: Error) => {
    if (lost || subscriber.isReady) return
    lost = true
    lostAt = Date.now()
    log.error({ redis: where, reason: error.message }, 'Laravel\'s Redis unreachable: broadcasts are not received and /ready answers 503 until it is back')
  })
  subscriber.on('ready', () => {
    if (!lost) return
    lost = false
    // Pub/sub keeps nothing: what was published meanwhile, and what Redis still held for the
    // bridge when it closed the connection, is gone.
    metrics.laravelRedisResubscribes.inc()
    log.warn({ redis: where, downMs: Date.now() - lostAt, hint: RESUBSCRIBE_HINT }, 'Laravel\'s Redis reachable again: receiving broadcasts; those published while the subscription was down are lost')
  })
  readiness.addCheck('Laravel\'s Redis unreachable (BRIDGE_LARAVEL_REDIS_URL)', () => subscriber.isReady)

  const logDropped = rateLimited((details) => log.warn(details, 'Laravel broadcast dropped'))
  const logFailed = rateLimited((details) => log.warn(details, 'Laravel broadcast not delivered'))
  const logOverflow = rateLimited((details) => log.warn(details, 'Laravel broadcasts dropped: they arrive faster than the bridge delivers them'))
  const occurrences = createOccurrenceCounter(CLAIM_SECONDS * 1000, MAX_TRACKED_MESSAGES)
  let closing = false

  function drop (reason: DropReason, channel: string): void {
    metrics.laravelRedisMessages.inc({ outcome: 'malformed' })
    metrics.laravelRedisMalformed.inc({ reason })
    // The channel name, shortened, and never the message: it is the app's data.
    logDropped({ reason, channel: channel.slice(0, 200) })
  }

  function fail (reason: unknown, count: number): void {
    metrics.laravelRedisMessages.inc({ outcome: 'failed' }, count)
    logFailed({ reason: String(reason), count })
  }

  /** Claims a batch as soon as it is made: every node claims a message about when it arrives. */
  function claim (batch: Received[]): Promise<Claimed> {
    return backplane.claims.claimAll(batch.map(({ key }) => key), CLAIM_SECONDS).then((won) => ({ won }), (error: unknown) => ({ error }))
  }

  /** A batch in arrival order: the messages this node won are read and handed on as one delivery. */
  async function deliverBatch (batch: Received[], claimed: Promise<Claimed>): Promise<void> {
    const answer = await claimed
    if ('error' in answer) return fail(answer.error, batch.length)
    const deliveries: BroadcastDelivery[] = []
    batch.forEach(({ channel, message }, index) => {
      const read = readBroadcastMessage(channel, message, { prefix, maxBytes: bodyLimit })
      if (!read.ok) drop(read.reason, channel)
      else if (answer.won[index] === true) deliveries.push(read.delivery)
      else metrics.laravelRedisMessages.inc({ outcome: 'delivered_elsewhere' })
    })
    if (deliveries.length === 0) return
    try {
      await publisher.publish(deliveries, log, 'laravel-redis')
      metrics.laravelRedisMessages.inc({ outcome: 'published' }, deliveries.length)
    } catch (error) {
      fail(error, deliveries.length)
    }
  }

  const queue = createBatchQueue<Received, Promise<Claimed>>({
    maxBytes: QUEUE_MAX_BYTES,
    // A batch is one stream entry: no larger than one publish may be.
    maxBatchBytes: bodyLimit,
    maxBatchItems: MAX_BATCH_MESSAGES,
    sizeOf: ({ channel, message }) => channel.length + message.length,
    prepare: claim,
    handle: deliverBatch
  })

  /** Only numbers the message and queues it: the subscription is read as fast as Redis sends. */
  function receive (message: string, channel: string): void {
    if (closing) return
    // Too large for any delivery: dropped before it is hashed or queued.
    if (message.length > bodyLimit) return drop('too_large', channel)
    // Numbered as it arrives, so that every node gives each copy of a message the same number.
    const hash = createHash('sha256').update(channel).update('\n').update(message).digest('hex').slice(0, 32)
    const key = `laravel-redis:${hash}:${occurrences.next(hash)}`
    if (queue.offer({ channel, message, key })) return
    metrics.laravelRedisMessages.inc({ outcome: 'overflow' })
    logOverflow({ queuedBytes: queue.bytes })
  }

  // Commands wait in node-redis's queue until the connection is up; after a reconnection it
  // subscribes again by itself.
  subscriber.connect().catch(() => {})
  const subscribed = subscriber.pSubscribe(pattern, receive).then(() => true, () => false)
  const waited = await Promise.race([subscribed, new Promise<false>((resolve) => setTimeout(resolve, STARTUP_WAIT_MS, false).unref())])
  if (waited) log.info({ redis: where, pattern }, 'receiving Laravel broadcasts')
  else if (!lost) log.error({ redis: where, pattern }, 'Laravel\'s Redis did not answer at start: /ready answers 503 until it does')
  if (!waited && !lost) {
    lost = true
    lostAt = Date.now()
  }

  fastify.addHook('preClose', async () => {
    closing = true
  })
  fastify.addHook('onClose', async () => {
    await queue.drained()
    subscriber.destroy()
  })
}, {
  name: 'laravel-redis',
  dependencies: ['publisher', 'backplane', 'readiness', 'metrics']
})
