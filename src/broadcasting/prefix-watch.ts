// A wrong BRIDGE_LARAVEL_REDIS_PREFIX loses every broadcast silently: the bridge's pattern
// matches nothing. Until a broadcast arrives under the prefix, a connection of its own watches
// the app's Redis with MONITOR (a PSUBSCRIBE would make the bridge a receiver of every message
// of the app, and PUBSUB CHANNELS does not list channels nobody subscribes to) for PUBLISH
// commands of Laravel-shaped messages on other channels, and names them in a warning.
import { createClient } from 'redis'
import type { LogFn } from 'pino'

/** Longest the watch runs: MONITOR costs the app's Redis a copy of every command it runs. */
export const PREFIX_WATCH_MS = 5 * 60 * 1000
/** Channels named in the warning at most. */
const MAX_NAMED = 5

/** The arguments of one MONITOR line: `<time> [<db> <client>] "cmd" "arg" …`, unescaped. */
export function monitorArguments (line: string): string[] {
  const start = line.indexOf('] ')
  if (start === -1) return []
  const args: string[] = []
  for (const [, quoted] of line.slice(start + 2).matchAll(/"((?:[^"\\]|\\.)*)"/g)) {
    args.push((quoted ?? '').replace(/\\x([0-9a-f]{2})|\\(.)/g, (_match, hex: string | undefined, char: string | undefined) => {
      if (hex !== undefined) return String.fromCharCode(Number.parseInt(hex, 16))
      return ({ n: '\n', r: '\r', t: '\t', a: '\x07', b: '\b' } as Record<string, string>)[char ?? ''] ?? char ?? ''
    }))
  }
  return args
}

/** A message as Laravel's redis broadcaster publishes it: a JSON object with `event` and `data`. */
export function laravelShaped (message: string): boolean {
  if (!message.startsWith('{')) return false
  try {
    const parsed = JSON.parse(message) as unknown
    return typeof parsed === 'object' && parsed !== null && typeof (parsed as { event?: unknown }).event === 'string' && 'data' in parsed
  } catch {
    return false
  }
}

/** The prefix a channel seems to have: what precedes `private-` or `presence-`, when either is in it. */
export function guessedPrefix (channel: string): string | undefined {
  const match = /^(.*?)(?:private-|presence-)/.exec(channel)
  return match?.[1]
}

export interface PrefixWatchOptions {
  url: string
  prefix: string
  /** Channels of the bridge's own (cluster mode on the same Redis), never Laravel's. */
  ignore?: string
  log: { warn: LogFn, info: LogFn, debug: LogFn }
  watchMs?: number
}

export function watchOtherPrefixes ({ url, prefix, ignore, log, watchMs = PREFIX_WATCH_MS }: PrefixWatchOptions) {
  const client = createClient({ url, name: `bridge:laravel-prefix-watch:${process.pid}`, socket: { reconnectStrategy: false } })
  client.on('error', () => {})
  const seen = new Map<string, string | undefined>()
  let stopped = false
  let warned = false
  let timer: NodeJS.Timeout | undefined

  function stop (): void {
    if (stopped) return
    stopped = true
    clearTimeout(timer)
    client.destroy()
  }

  function warn (): void {
    warned = true
    stop()
    const channels = [...seen.keys()].slice(0, MAX_NAMED)
    const prefixes = [...new Set([...seen.values()].filter((guess) => guess !== undefined))]
    const likely = prefixes.length === 1 ? ` (prefix "${prefixes[0]}"?)` : ''
    log.warn({ channels, prefixes, configured: prefix },
      `Laravel broadcasts on this Redis arrive under another prefix than BRIDGE_LARAVEL_REDIS_PREFIX="${prefix}"${likely}: ` +
      'none of them reaches the bridge; set BRIDGE_LARAVEL_REDIS_PREFIX to Laravel\'s config(\'database.redis.options.prefix\')')
  }

  function inspect (line: string): void {
    if (stopped || warned) return
    const [command, channel, message] = monitorArguments(line)
    if (command?.toLowerCase() !== 'publish' || channel === undefined || message === undefined) return
    if (channel.startsWith(prefix) || (ignore !== undefined && channel.startsWith(ignore)) || !laravelShaped(message)) return
    seen.set(channel.slice(0, 200), guessedPrefix(channel))
    // A burst names several channels in one line; the first one starts the (short) wait.
    if (seen.size === 1) setTimeout(() => { if (!stopped) warn() }, 1000).unref()
  }

  client.connect()
    .then(() => client.monitor(inspect))
    .then(() => {
      log.debug({ prefix, watchMs }, 'watching Laravel\'s Redis for broadcasts under another prefix (MONITOR) until one arrives under BRIDGE_LARAVEL_REDIS_PREFIX')
      timer = setTimeout(stop, watchMs)
      timer.unref()
    }, (error: unknown) => {
      // ACLs (or a managed Redis) may not allow MONITOR: the check is then skipped, said once.
      if (!stopped) log.info({ reason: String(error) }, 'cannot watch Laravel\'s Redis for broadcasts under another prefix (MONITOR refused, or Redis unreachable at start); a wrong BRIDGE_LARAVEL_REDIS_PREFIX would go unnoticed')
      stop()
    })

  return {
    /** A broadcast arrived under the prefix: it is right, the watch ends. */
    arrived: stop,
    close: stop
  }
}
