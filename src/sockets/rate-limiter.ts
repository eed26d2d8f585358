// Per-connection rate limits (subscribe/unsubscribe of both protocols, whispers): a token
// bucket per connection, two numbers each, forgotten with the connection.

export interface RateLimiter {
  take: () => boolean
}

/** At most `perSecond` calls a second on average, in bursts of up to `perSecond` (a token bucket). */
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
