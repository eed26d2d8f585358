// A per-connection rate limit: at most `perSecond` calls in any one-second window on average,
// with bursts of up to `perSecond` (a token bucket, refilled continuously).

export interface RateLimiter {
  /** Takes one call's allowance; false when the connection is past its limit. */
  take: () => boolean
}

export function createRateLimiter (perSecond: number, now: () => number = performance.now.bind(performance)): RateLimiter {
  let tokens = perSecond
  let last = now()
  return {
    take () {
      const current = now()
      tokens = Math.min(perSecond, tokens + (current - last) * perSecond / 1000)
      last = current
      if (tokens < 1) return false
      tokens -= 1
      return true
    }
  }
}
