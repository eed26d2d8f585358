// When a failed webhook request is tried again: soon at first, then doubling up to a ceiling,
// for at least RETRY_FOR_MS after its first attempt; then it is dropped.

export const FIRST_RETRY_MS = 2000
export const MAX_RETRY_DELAY_MS = 60_000
export const RETRY_FOR_MS = 5 * 60_000

export interface RetrySchedule {
  firstMs: number
  maxDelayMs: number
  /** Retries continue until this long after the first attempt has passed. */
  forMs: number
}

export const DEFAULT_SCHEDULE: RetrySchedule = { firstMs: FIRST_RETRY_MS, maxDelayMs: MAX_RETRY_DELAY_MS, forMs: RETRY_FOR_MS }

/** The wait before retry number `retry` (1 is the first), or undefined: give up. */
export function retryDelay (retry: number, firstAttemptAt: number, now: number, schedule: RetrySchedule = DEFAULT_SCHEDULE): number | undefined {
  if (now - firstAttemptAt >= schedule.forMs) return undefined
  return Math.min(schedule.firstMs * 2 ** (retry - 1), schedule.maxDelayMs)
}
