// The Redis connection of cluster mode, made here and nowhere else: connects at start (or fails
// clearly), then reconnects by itself for as long as the bridge runs.
import { createClient } from 'redis'
import { describeRedisUrl } from '../../ops/redis-url.ts'

export const STARTUP_WAIT_MS = 5000
/** Longest wait for one Redis command: a publish while Redis is away fails after this. */
export const COMMAND_TIMEOUT_MS = 5000

export class RedisUnreachableError extends Error {
  override name = 'RedisUnreachableError'
}

function reconnectDelay (retries: number): number {
  return Math.min(100 * 2 ** retries, 2000)
}

function createRedisClient (url: string, name: string, giveUpAt: () => number | undefined) {
  return createClient({
    url,
    // Shown by CLIENT LIST, so operators can tell the bridge's connections apart.
    name,
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

/** Attempts are repeated for up to STARTUP_WAIT_MS at start; once connected, it reconnects without end. */
export async function connectRedis (url: string, name: string): Promise<RedisClient> {
  let deadline: number | undefined = Date.now() + STARTUP_WAIT_MS
  const client = createRedisClient(url, name, () => deadline)
  // An 'error' event without a listener would stop the process; readiness and log lines report it.
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
