// Which browser origins may use the bridge (CORS_ORIGINS, `true` for any), whether they may send
// credentials, and the warning a refused origin gets: one per origin per minute, on every path
// (the HTTP API, the Engine.IO handshake, the socket.io connect) together.
import type { FastifyInstance } from 'fastify'
import type { LogFn } from 'pino'

export const REFUSED_ORIGIN_LOG_MS = 60_000
/** Refusal lines of any origins together (contract: refusal lines at most once a second). */
const ANY_ORIGIN_LOG_MS = 1000
const MAX_ORIGIN_LENGTH = 256

export type OriginPath = 'http' | 'socket.io'

export interface OriginPolicy {
  /** Listed origins may send cookies; `*` never. */
  readonly credentials: boolean
  /** Whether a browser from `origin` may go on; no Origin header (apps, servers) always may. */
  allows (origin: string | undefined): boolean
  /** Says (once a minute per origin, once a second in all) that `origin` was refused on `path`. */
  refused (origin: string, path: OriginPath): void
}

export function createOriginPolicy (corsOrigins: readonly string[] | true, log: { warn: LogFn }, now: () => number = Date.now): OriginPolicy {
  const listed = corsOrigins === true ? undefined : new Set(corsOrigins)
  const loggedAt = new Map<string, { at: number, notLogged: number }>()
  let lastLine = -Infinity
  let othersNotLogged = 0

  return {
    credentials: listed !== undefined,
    allows: (origin) => origin === undefined || listed === undefined || listed.has(origin),
    refused (origin, path) {
      const key = origin.slice(0, MAX_ORIGIN_LENGTH)
      const current = now()
      const last = loggedAt.get(key)
      if (last !== undefined && current - last.at < REFUSED_ORIGIN_LOG_MS) {
        last.notLogged += 1
        return
      }
      // A flood of made-up origins costs the log a line a second; this origin is named when its turn comes.
      if (current - lastLine < ANY_ORIGIN_LOG_MS) {
        othersNotLogged += 1
        return
      }
      lastLine = current
      // Only origins named within the last minute are kept: at most 60.
      for (const [old, { at }] of loggedAt) if (current - at >= REFUSED_ORIGIN_LOG_MS) loggedAt.delete(old)
      loggedAt.set(key, { at: current, notLogged: 0 })
      const details = {
        origin: key,
        path,
        allowed: listed === undefined ? undefined : [...listed],
        notLogged: last !== undefined && last.notLogged > 0 ? last.notLogged : undefined,
        otherRefusalsNotLogged: othersNotLogged > 0 ? othersNotLogged : undefined
      }
      othersNotLogged = 0
      log.warn(details, `browser origin refused: ${key} is not in CORS_ORIGINS; add it there (scheme://host[:port], as the browser's address bar shows it)`)
    }
  }
}

const policies = new WeakMap<object, OriginPolicy>()

/** The one policy of a bridge (keyed by its config), shared by the HTTP API and socket.io. */
export function originPolicy (fastify: FastifyInstance): OriginPolicy {
  let policy = policies.get(fastify.config)
  if (policy === undefined) {
    policy = createOriginPolicy(fastify.config.corsOrigins, fastify.log)
    policies.set(fastify.config, policy)
  }
  return policy
}
