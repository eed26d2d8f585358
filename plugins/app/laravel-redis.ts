// Laravel's `redis` broadcaster as a source of events (docs/broadcasting.md#the-redis-driver):
// PSUBSCRIBE `<BRIDGE_LARAVEL_REDIS_PREFIX>*` on the app's Redis, each `{event, data, socket}`
// handed to `fastify.publisher`. Reading never waits on a round trip (messages are only numbered
// and queued), so a burst cannot fill Redis's output buffer for the bridge. Every node of a
// cluster receives every message: each numbers identical ones alike and claims
// `laravel-redis:<hash>:<number>` through the backplane, and only the winner publishes.
import { createHash } from 'node:crypto'
import fp from 'fastify-plugin'
import { caForUrl, redisDeploymentOf } from '../../src/backplane/create.ts'
import { createBatchQueue } from '../../src/broadcasting/batch-queue.ts'
import { readBroadcastMessage, type DropReason } from '../../src/broadcasting/laravel-redis-message.ts'
import { createOccurrenceCounter } from '../../src/broadcasting/occurrences.ts'
import { describeRedisUrl } from '../../src/ops/redis-url.ts'
import type { BroadcastDelivery } from '../../src/channels/delivery.ts'

/** How long a node's claim on a message lasts, and identical messages keep being numbered on. */
const CLAIM_SECONDS = 10
const MAX_TRACKED_MESSAGES = 100_000
const STARTUP_WAIT_MS = 5000
/** At most one line per kind of trouble in this many ms; the next says how many were not logged. */
const LOG_EVERY_MS = 10_000
/** Most bytes of messages waiting (Redis's own default hard limit for a subscriber). */
const QUEUE_MAX_BYTES = 32 * 1024 * 1024
const MAX_BATCH_MESSAGES = 500

const RESUBSCRIBE_HINT = 'if Redis stayed up, it closed the subscription because its output buffer for the bridge passed ' +
  '`client-output-buffer-limit pubsub` (default 32mb, or 8mb for 60 s): raise it (docs/broadcasting.md)'

type Claimed = { won: boolean[] } | { error: unknown }

interface Received {
  channel: string
  message: string
  key: string
}

function reconnectDelay (retries: number): number {
  return Math.min(100 * 2 ** retries, 2000)
}

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
  // Loaded only when configured: the Redis client is most of the bridge's code by size.
  const [{ createClient }, { watchOtherPrefixes }] = await Promise.all([import('redis'), import('../../src/broadcasting/prefix-watch.ts')])
  const { publisher, backplane, metrics, readiness } = fastify
  const { log } = fastify
  const where = describeRedisUrl(url)
  const pattern = `${prefix}*`

  // REDIS_TLS_CA, when set, verifies a rediss:// URL here too.
  const ca = caForUrl(fastify.config, url)
  const subscriber = createClient({
    url,
    name: `bridge:laravel-broadcasts:${process.pid}`,
    socket: { ...(ca === undefined ? {} : { tls: true as const, ca }), reconnectStrategy: reconnectDelay }
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
    // Pub/sub keeps nothing: what was published meanwhile is gone.
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

  /** Claimed as soon as the batch is made: every node claims a message about when it arrives. */
  function claim (batch: Received[]): Promise<Claimed> {
    return backplane.claims.claimAll(batch.map(({ key }) => key), CLAIM_SECONDS).then((won) => ({ won }), (error: unknown) => ({ error }))
  }

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

  // An empty prefix matches every channel: nothing can arrive under another one.
  const prefixWatch = prefix === '' ? undefined : watchOtherPrefixes({ url, prefix, ignore: redisDeploymentOf(fastify.config) === undefined ? undefined : fastify.config.redisPrefix, log })

  function receive (message: string, channel: string): void {
    prefixWatch?.arrived()
    if (closing) return
    if (message.length > bodyLimit) return drop('too_large', channel)
    // Numbered as it arrives, so that every node gives each copy of a message the same number.
    const hash = createHash('sha256').update(channel).update('\n').update(message).digest('hex').slice(0, 32)
    const key = `laravel-redis:${hash}:${occurrences.next(hash)}`
    if (queue.offer({ channel, message, key })) return
    metrics.laravelRedisMessages.inc({ outcome: 'overflow' })
    logOverflow({ queuedBytes: queue.bytes })
  }

  // node-redis queues commands until connected, and subscribes again after a reconnection.
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
    prefixWatch?.close()
    await queue.drained()
    subscriber.destroy()
  })
}, {
  name: 'laravel-redis',
  dependencies: ['publisher', 'backplane', 'readiness', 'metrics']
})
