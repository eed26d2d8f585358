// Webhooks of a bridge that runs alone: what is derived goes straight to this node's sink, in
// memory (bounded by the sink, src/webhooks/delivery-queue.ts); lost when the process ends.
import type { WebhookLog, WebhookSink } from '../backplane.ts'

export function createMemoryWebhookLog (): WebhookLog {
  let sink: WebhookSink | undefined

  return {
    append (position, events) {
      sink?.add({ id: String(position[1]), timeMs: Date.now(), events })
    },
    start (open) {
      sink = open()
    },
    get sending () {
      return sink !== undefined
    },
    async close () {
      sink?.close()
      sink = undefined
    }
  }
}
