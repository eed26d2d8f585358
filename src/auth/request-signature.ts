// Request signing: `X-Bridge-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + raw body)>`.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto'

/** How far `X-Bridge-Timestamp` may be from the bridge's clock, in seconds. */
export const SIGNATURE_WINDOW_SECONDS = 300

/** The `X-Bridge-Signature` value of a body signed at `timestamp` (unix seconds). */
export function signatureOf (secret: string, timestamp: string, rawBody: Buffer | string): string {
  const hmac = createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody)
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
export function signatureMatches (secret: string, timestamp: string, rawBody: Buffer | string, presented: string): boolean {
  const expected = createHash('sha256').update(signatureOf(secret, timestamp, rawBody)).digest()
  const candidate = createHash('sha256').update(presented.trim().toLowerCase()).digest()
  return timingSafeEqual(expected, candidate)
}
