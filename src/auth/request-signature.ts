// Request signing: `X-Bridge-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "\n" +
// METHOD + "\n" + path with its query string + "\n" + raw body)>`, so a signature is good for
// one method, one path and one body only.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto'

/** How far `X-Bridge-Timestamp` may be from the bridge's clock, in seconds. */
export const SIGNATURE_WINDOW_SECONDS = 300

/** What a signature covers. */
export interface SignedRequest {
  /** Unix seconds, as sent in X-Bridge-Timestamp. */
  timestamp: string
  /** The HTTP method, upper case. */
  method: string
  /** The request target as sent: the path with its query string, if any. */
  url: string
  /** The exact body bytes; empty for a request without a body. */
  body: Buffer | string
}

/** The `X-Bridge-Signature` value of a request. */
export function signatureOf (secret: string, { timestamp, method, url, body }: SignedRequest): string {
  const hmac = createHmac('sha256', secret)
    .update(`${timestamp}\n${method.toUpperCase()}\n${url}\n`)
    .update(body)
  return `sha256=${hmac.digest('hex')}`
}

/** Why the timestamp header cannot be used, or undefined when it is fresh. */
export function timestampProblem (timestamp: string | undefined, nowSeconds: number): string | undefined {
  if (timestamp === undefined) return 'X-Bridge-Timestamp header is required (unix seconds)'
  if (!/^\d{1,12}$/.test(timestamp)) return 'X-Bridge-Timestamp must be unix seconds'
  if (Math.abs(nowSeconds - Number(timestamp)) > SIGNATURE_WINDOW_SECONDS) {
    return `X-Bridge-Timestamp is more than ${SIGNATURE_WINDOW_SECONDS} s away from the bridge's clock`
  }
  return undefined
}

/** Constant-time check of a presented signature (hashed first, so its length does not matter). */
export function signatureMatches (secret: string, request: SignedRequest, presented: string): boolean {
  const expected = createHash('sha256').update(signatureOf(secret, request)).digest()
  const candidate = createHash('sha256').update(presented.trim().toLowerCase()).digest()
  return timingSafeEqual(expected, candidate)
}
