// Pusher's webhook signature: hex HMAC-SHA256 of the exact body bytes with the app secret.
import { createHmac } from 'node:crypto'

export function webhookSignature (secret: string, body: string): string {
  return createHmac('sha256', secret).update(body).digest('hex')
}

/** The request body Pusher's SDKs read: `time_ms` and the events, in order. */
export function webhookBody (timeMs: number, events: readonly object[]): string {
  return JSON.stringify({ time_ms: timeMs, events })
}
