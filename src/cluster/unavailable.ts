// The answer when cluster mode cannot reach Redis: 503 with Retry-After, so the backend retries.
export const RETRY_AFTER_SECONDS = 5

export class RedisUnavailableError extends Error {
  override name = 'RedisUnavailableError'
  readonly statusCode = 503
  readonly code = 'BRIDGE_REDIS_UNAVAILABLE'
  readonly headers = { 'retry-after': String(RETRY_AFTER_SECONDS) }

  constructor (message = 'Redis is unreachable (cluster mode); nothing was published, retry later') {
    super(message)
  }
}
