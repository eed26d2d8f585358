// One webhook request: POSTed signed to BRIDGE_WEBHOOK_URL, redirects not followed, a 2xx within
// SEND_TIMEOUT_MS is success. Of an answer's body only a short prefix is ever read, for the log.
import { webhookSignature } from './signing.ts'
import type { Outcome } from './delivery-queue.ts'

export const SEND_TIMEOUT_MS = 5000
/** Bytes of a failing answer's body kept for the log line. */
export const ANSWER_PREFIX_BYTES = 200

export interface WebhookTarget {
  url: string
  key: string
  secret: string
  timeoutMs?: number
}

async function prefixOf (body: ReadableStream<Uint8Array> | null): Promise<string> {
  if (body === null) return ''
  const reader = body.getReader()
  const chunks: Buffer[] = []
  let length = 0
  try {
    while (length < ANSWER_PREFIX_BYTES) {
      const { done, value } = await reader.read()
      if (done) break
      chunks.push(Buffer.from(value))
      length += value.length
    }
  } finally {
    reader.cancel().catch(() => {})
  }
  return Buffer.concat(chunks).subarray(0, ANSWER_PREFIX_BYTES).toString('utf8')
}

export function createWebhookPoster ({ url, key, secret, timeoutMs = SEND_TIMEOUT_MS }: WebhookTarget) {
  return async function post (body: string): Promise<Outcome> {
    let response: Response
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Pusher-Key': key, 'X-Pusher-Signature': webhookSignature(secret, body) },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs)
      })
    } catch (error) {
      const name = (error as Error).name
      if (name === 'TimeoutError' || name === 'AbortError') return { ok: false, cause: `no answer within ${timeoutMs} ms` }
      const reason = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message
      return { ok: false, cause: `unreachable (${reason})` }
    }
    if (response.status >= 200 && response.status < 300) {
      // The body is not needed: a large one is not read.
      response.body?.cancel().catch(() => {})
      return { ok: true }
    }
    let detail: string
    try {
      detail = await prefixOf(response.body)
    } catch {
      detail = ''
    }
    const cause = response.status >= 300 && response.status < 400 ? `answered ${response.status} (a redirect, not followed)` : `answered ${response.status}`
    return { ok: false, cause, detail }
  }
}
