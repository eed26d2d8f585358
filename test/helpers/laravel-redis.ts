// Laravel's redis broadcaster in the tests: a channel prefix of each test's own on the
// machine's Redis (pub/sub ignores the database index), messages published as Laravel
// publishes them, and Laravel itself (Debian's 8.83 with Predis) broadcasting App\Events.
import { spawn, spawnSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import type { Test } from 'tap'
import type { Env } from '../../src/config/index.ts'
import { redisClient, SHARED_REDIS_URL } from './redis.ts'

/** Environment of a bridge subscribed to Laravel's broadcasts under a prefix no other test uses. */
export function laravelRedisEnv (url = SHARED_REDIS_URL): Env & { BRIDGE_LARAVEL_REDIS_PREFIX: string, BRIDGE_LARAVEL_REDIS_URL: string } {
  return { BRIDGE_LARAVEL_REDIS_URL: url, BRIDGE_LARAVEL_REDIS_PREFIX: `test_${randomUUID().slice(0, 8)}_database_` }
}

/** Publishes on `<prefix><channel>` as RedisBroadcaster does (PUBLISH from a Lua script is the same message). */
export async function publisherFor (t: Test, prefix: string, url = SHARED_REDIS_URL) {
  const client = await redisClient(t, url)
  return async (channel: string, message: unknown): Promise<number> =>
    await client.publish(`${prefix}${channel}`, typeof message === 'string' ? message : JSON.stringify(message))
}

const runner = fileURLToPath(new URL('../fixtures/php/broadcast.php', import.meta.url))

/** Why Laravel cannot broadcast here, or false when PHP, Debian's Laravel and Predis are present. */
export function laravelMissing (): string | false {
  const probe = spawnSync('php', ['-r', 'exit(is_file("/usr/share/php/Illuminate/autoload.php") && is_file("/usr/share/php/Predis/autoload.php") ? 0 : 3);'])
  if (probe.error !== undefined) return 'php is not installed (apt-get install php-cli php-laravel-framework php-predis)'
  if (probe.status !== 0) return 'php-laravel-framework or php-predis is missing (apt-get install them)'
  return false
}

export interface Broadcast {
  /** A class of test/fixtures/php/app/Events. */
  event: 'OrderShipped' | 'MessageSent' | 'RoomUpdated'
  /** Its constructor's arguments. */
  args: unknown[]
  /** The X-Socket-ID of the request: `broadcast($event)->toOthers()` leaves that socket out. */
  socket?: string
}

/** Runs `broadcast(new App\Events\…)` in Laravel, through its redis broadcaster, with `prefix`. */
export async function laravelBroadcast (prefix: string, broadcasts: Broadcast[], url = SHARED_REDIS_URL): Promise<void> {
  const { hostname, port } = new URL(url)
  const php = spawn('php', [runner], { stdio: ['pipe', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '' } })
  let output = ''
  php.stdout.on('data', (chunk: Buffer) => { output += chunk })
  php.stderr.on('data', (chunk: Buffer) => { output += chunk })
  php.stdin.end(JSON.stringify({
    redis: { host: hostname, port: Number(port) },
    prefix,
    broadcasts: broadcasts.map((broadcast) => ({ socket: null, ...broadcast }))
  }))
  const code = await new Promise<number | null>((resolve) => php.once('close', resolve))
  if (code !== 0) throw new Error(`php exited ${code}: ${output}`)
}
