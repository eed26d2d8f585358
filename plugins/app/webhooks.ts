// Webhooks to Laravel (contract section 7), on when BRIDGE_WEBHOOK_URL is set: the transport
// derives the events, the backplane's webhook log keeps them until sent once per cluster, and
// this plugin is the sender: a delivery queue posting to the URL, its counters and gauges, and
// one log line per cause of failure until a request succeeds again.
import fp from 'fastify-plugin'
import type { WebhookSink } from '../../src/backplane/backplane.ts'
import { createDeliveryQueue, type DeliveryQueue } from '../../src/webhooks/delivery-queue.ts'
import { createWebhookPoster } from '../../src/webhooks/http-sender.ts'

export default fp(async function webhooks (fastify) {
  const { config, metrics, backplane, log } = fastify
  if (config.webhookUrl === undefined || config.pusher === undefined) return
  const sent = metrics.counter('bridge_webhook_events_sent_total', 'Webhook events delivered (a 2xx answer within 5 s)')
  const failed = metrics.counter('bridge_webhook_requests_failed_total', 'Webhook requests that failed (another status, a redirect, no answer within 5 s, unreachable)')
  const retried = metrics.counter('bridge_webhook_retries_total', 'Webhook requests sent again after a failure')
  const dropped = metrics.counter('bridge_webhook_events_dropped_total', 'Webhook events given up: retried for 5 minutes, or past the queue bounds')
  let queue: DeliveryQueue | undefined
  metrics.gauge('bridge_webhook_queue_events', 'Webhook events this node holds undelivered (as the sending node)',
    () => backplane.webhooks.sending ? queue?.stats().queued ?? 0 : 0)
  metrics.gauge('bridge_webhook_oldest_undelivered_seconds', 'Age of the oldest webhook event this node holds undelivered (as the sending node)',
    () => backplane.webhooks.sending ? (queue?.stats().oldestAgeMs ?? 0) / 1000 : 0)

  const failures = new Set<string>()
  const drops = new Set<string>()
  const post = createWebhookPoster({ url: config.webhookUrl, key: config.pusher.key, secret: config.pusher.secret })
  const endpoint = new URL(config.webhookUrl)
  const target = `${endpoint.origin}${endpoint.pathname}`

  backplane.webhooks.start((): WebhookSink => {
    queue = createDeliveryQueue({
      batchMs: config.webhookBatchMs,
      post,
      report: {
        sent (events) {
          sent.inc(events)
          if (failures.size > 0) log.info({ webhook: target }, 'webhooks delivered again')
          failures.clear()
          drops.clear()
        },
        failed (cause, detail) {
          failed.inc()
          if (failures.has(cause)) return
          failures.add(cause)
          // At most a short prefix of the answer, quoted: never the whole body.
          log.warn({ webhook: target, cause, ...(detail !== undefined && detail !== '' && { answer: detail }) }, 'webhook request failed; it is retried')
        },
        retried: () => retried.inc(),
        dropped (events, cause) {
          dropped.inc(events)
          if (drops.has(cause)) return
          drops.add(cause)
          log.error({ webhook: target, events, cause }, 'webhook events dropped')
        }
      }
    })
    return queue
  })
}, {
  name: 'webhooks',
  dependencies: ['backplane', 'metrics', 'transport']
})
