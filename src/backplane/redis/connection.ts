// The Redis connection of cluster mode, made here and nowhere else: connects at start (or fails
// clearly), then reconnects by itself for as long as the bridge runs.
import { createClient } from 'redis'
import { describeRedisUrl } from '../../ops/redis-url.ts'

/** How long the start waits for Redis before giving up with a clear message. */
export const STARTUP_WAIT_MS = 5000
/** Longest wait for one Redis command: a publish while Redis is away fails after this. */
export const COMMAND_TIMEOUT_MS = 5000

/** Raised when Redis cannot be reached at start; its message is the one line to print. */
export class RedisUnreachableError extends Error {
  override name = 'RedisUnreachableError'
}

/** Wait before the next reconnection attempt: quick at first, then every 2 seconds. */
function reconnectDelay (retries: number): number {
  return Math.min(100 * 2 ** retries, 2000)
}

function createRedisClient (url: string, name: string, giveUpAt: () => number | undefined) {
  return createClient({
    url,
    // Shown by CLIENT LIST, so operators can tell the bridge's connections apart.
    name,
    // The socket.io adapter reads replies in the RESP2 shapes.
    RESP: 2,
    commandOptions: { timeout: COMMAND_TIMEOUT_MS },
    socket: {
      reconnectStrategy: (retries, cause) => {
        const deadline = giveUpAt()
        return deadline !== undefined && Date.now() >= deadline ? cause : reconnectDelay(retries)
      }
    }
  })
}

export type RedisClient = ReturnType<typeof createRedisClient>

/**
 * A client connected to `url`. While the start waits, attempts are repeated for up to
 * STARTUP_WAIT_MS; once connected, it reconnects without end after any loss.
 */
export async function connectRedis (url: string, name: string): Promise<RedisClient> {
  let deadline: number | undefined = Date.now() + STARTUP_WAIT_MS
  const client = createRedisClient(url, name, () => deadline)
  // Errors are reported through readiness and the connection's own log lines; an 'error'
  // event without a listener would stop the process.
  client.on('error', () => {})
  try {
    await client.connect()
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    throw new RedisUnreachableError(
      `cluster mode: Redis at ${describeRedisUrl(url)} is unreachable (${reason}); gave up after ${STARTUP_WAIT_MS / 1000} s`
    )
  }
  deadline = undefined
  return client
}
