// Per-connection rate limits (subscribe/unsubscribe of both protocols, whispers): a token
// bucket per connection, two numbers each, forgotten with the connection.

export interface RateLimiter {
  take: () => boolean
}

/**
 * A bucket is two numbers and its limit: its `take` is the prototype's, so an idle connection
 * holds no closure of it (they are many, and held for hours).
 */
class TokenBucket implements RateLimiter {
  private tokens: number
  private last: number
  private readonly perSecond: number
  private readonly now: () => number

  constructor (perSecond: number, now: () => number) {
    this.perSecond = perSecond
    this.now = now
    this.tokens = perSecond
    this.last = now()
  }

  take (): boolean {
    const current = this.now()
    this.tokens = Math.min(this.perSecond, this.tokens + (current - this.last) * this.perSecond / 1000)
    this.last = current
    if (this.tokens < 1) return false
    this.tokens -= 1
    return true
  }
}

/** At most `perSecond` calls a second on average, in bursts of up to `perSecond` (a token bucket). */
export function createRateLimiter (perSecond: number, now: () => number = performance.now.bind(performance)): RateLimiter {
  return new TokenBucket(perSecond, now)
}

/** One limit shared by every handler of a connection: a bucket per connection, made on first use. */
export interface ConnectionRateLimit<Connection extends object> {
  take: (connection: Connection) => boolean
}

export function createConnectionRateLimit<Connection extends object> (
  perSecond: number,
  now: () => number = performance.now.bind(performance)
): ConnectionRateLimit<Connection> {
  // Weak: a closed connection's bucket goes with it, whoever forgets to clean up.
  const buckets = new WeakMap<Connection, RateLimiter>()
  return {
    take (connection) {
      let bucket = buckets.get(connection)
      if (bucket === undefined) {
        bucket = createRateLimiter(perSecond, now)
        buckets.set(connection, bucket)
      }
      return bucket.take()
    }
  }
}
