// Laravel's `redis` broadcaster as a source of events (contract 5.2): with
// BRIDGE_LARAVEL_REDIS_URL set, the bridge PSUBSCRIBEs `<BRIDGE_LARAVEL_REDIS_PREFIX>*` on the
// app's Redis and hands each `{event, data, socket}` message to `fastify.publisher`, `socket`
// being the `toOthers()` exclusion.
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
import { readBroadcastMessage, type DropReason } from '../src/broadcasting/laravel-redis-message.ts'
import { createOccurrenceCounter } from '../src/broadcasting/occurrences.ts'
import { describeRedisUrl } from '../src/transport/redis-connection.ts'

/** How long a node's claim on a message lasts, and how long identical messages keep being numbered on. */
const CLAIM_SECONDS = 10
/** Most distinct messages numbered at once (a flood of unique messages forgets the oldest). */
const MAX_TRACKED_MESSAGES = 100_000
/** How long the start waits for the first subscription before going on, not ready. */
const STARTUP_WAIT_MS = 5000
/** At most one line per kind of trouble in this many ms; the next one says how many were not logged. */
const LOG_EVERY_MS = 10_000

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
  const { publisher, transport, metrics, readiness } = fastify
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
  subscriber.on('error', (error: Error) => {
    if (lost || subscriber.isReady) return
    lost = true
    log.error({ redis: where, reason: error.message }, 'Laravel\'s Redis unreachable: broadcasts are not received and /ready answers 503 until it is back')
  })
  subscriber.on('ready', () => {
    if (!lost) return
    lost = false
    log.info({ redis: where }, 'Laravel\'s Redis reachable again: receiving broadcasts')
  })
  readiness.addCheck('Laravel\'s Redis unreachable (BRIDGE_LARAVEL_REDIS_URL)', () => subscriber.isReady)

  const logDropped = rateLimited((details) => log.warn(details, 'Laravel broadcast dropped'))
  const logFailed = rateLimited((details) => log.warn(details, 'Laravel broadcast not delivered'))
  const occurrences = createOccurrenceCounter(CLAIM_SECONDS * 1000, MAX_TRACKED_MESSAGES)
  let closing = false
  /** Each message's claim resolves in its own time; deliveries are started in arrival order. */
  let ordered: Promise<void> = Promise.resolve()
  const deliveries = new Set<Promise<unknown>>()

  function drop (reason: DropReason, channel: string): void {
    metrics.laravelRedisMessages.inc({ outcome: 'malformed' })
    metrics.laravelRedisMalformed.inc({ reason })
    // The channel name, shortened, and never the message: it is the app's data.
    logDropped({ reason, channel: channel.slice(0, 200) })
  }

  function fail (reason: unknown): void {
    metrics.laravelRedisMessages.inc({ outcome: 'failed' })
    logFailed({ reason: String(reason) })
  }

  function receive (message: string, channel: string): void {
    if (closing) return
    const read = readBroadcastMessage(channel, message, { prefix, maxBytes: bodyLimit })
    if (!read.ok) {
      drop(read.reason, channel)
      return
    }
    const hash = createHash('sha256').update(channel).update('\n').update(message).digest('hex').slice(0, 32)
    const key = `laravel-redis:${hash}:${occurrences.next(hash)}`
    const claimed = transport.claims.claim(key, CLAIM_SECONDS).then((won) => ({ won }), (error: unknown) => ({ error }))
    // A step that throws must not stop the chain: every later message would be left undelivered.
    ordered = ordered.then(async () => {
      const claim = await claimed
      if ('error' in claim) return fail(claim.error)
      if (!claim.won) {
        metrics.laravelRedisMessages.inc({ outcome: 'delivered_elsewhere' })
        return
      }
      // Not awaited here: the next message's delivery starts right after this one's.
      const delivery = publisher.publish([read.delivery], log, 'laravel-redis').then(
        () => { metrics.laravelRedisMessages.inc({ outcome: 'published' }) },
        fail
      )
      deliveries.add(delivery)
      delivery.finally(() => deliveries.delete(delivery)).catch(() => {})
    }).catch(fail)
  }

  // Commands wait in node-redis's queue until the connection is up; after a reconnection it
  // subscribes again by itself.
  subscriber.connect().catch(() => {})
  const subscribed = subscriber.pSubscribe(pattern, receive).then(() => true, () => false)
  const waited = await Promise.race([subscribed, new Promise<false>((resolve) => setTimeout(resolve, STARTUP_WAIT_MS, false).unref())])
  if (waited) log.info({ redis: where, pattern }, 'receiving Laravel broadcasts')
  else if (!lost) log.error({ redis: where, pattern }, 'Laravel\'s Redis did not answer at start: /ready answers 503 until it does')
  if (!waited) lost = true

  fastify.addHook('preClose', async () => {
    closing = true
  })
  fastify.addHook('onClose', async () => {
    await ordered
    await Promise.allSettled([...deliveries])
    subscriber.destroy()
  })
}, {
  name: 'laravel-redis',
  dependencies: ['publisher', 'transport', 'readiness', 'metrics']
})
