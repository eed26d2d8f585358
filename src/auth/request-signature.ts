// Request signing: `X-Bridge-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "\n" +
// METHOD + "\n" + path with its query string + "\n" + raw body)>`, so a signature is good for
// one method, one path and one body only.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto'

export const SIGNATURE_WINDOW_SECONDS = 300

export interface SignedRequest {
  timestamp: string
  method: string
  /** The request target as sent: the path with its query string. */
  url: string
  body: Buffer | string
}

export function signatureOf (secret: string, { timestamp, method, url, body }: SignedRequest): string {
  const hmac = createHmac('sha256', secret)
    .update(`${timestamp}\n${method.toUpperCase()}\n${url}\n`)
    .update(body)
  return `sha256=${hmac.digest('hex')}`
}

export function timestampProblem (timestamp: string | undefined, nowSeconds: number): string | undefined {
  if (timestamp === undefined) return 'X-Bridge-Timestamp header is required (unix seconds)'
  if (!/^\d{1,12}$/.test(timestamp)) return 'X-Bridge-Timestamp must be unix seconds'
  if (Math.abs(nowSeconds - Number(timestamp)) > SIGNATURE_WINDOW_SECONDS) {
    return `X-Bridge-Timestamp is more than ${SIGNATURE_WINDOW_SECONDS} s away from the bridge's clock`
  }
  return undefined
}

/** Constant-time (both hashed first, so its length does not matter). */
export function signatureMatches (secret: string, request: SignedRequest, presented: string): boolean {
  const expected = createHash('sha256').update(signatureOf(secret, request)).digest()
  const candidate = createHash('sha256').update(presented.trim().toLowerCase()).digest()
  return timingSafeEqual(expected, candidate)
}
