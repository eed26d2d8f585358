// Sessions of clients that lost their connection, kept for the recovery window so that a
// client back in time gets its id, subscriptions and socket data again: in memory on a
// single node, in Redis in a cluster (any node can restore them).
import { clientName } from './channels.ts'
import type { Position } from './positions.ts'
import type { RedisClient } from './redis-connection.ts'

export interface StoredSession {
  sid: string
  pid: string
  /** The socket.io rooms the socket was in (its own room excluded). */
  rooms: string[]
  /** `socket.data`: plain JSON, never credentials. */
  data: unknown
  /**
   * For each channel, the position after which the client may have missed its events,
   * whatever its offset says (a quiet channel's offset can be old): when the socket joined
   * the channel, or when its connection may have died, whichever is later.
   */
  from: Array<[channel: string, position: Position]>
}

/** Longest a session is kept: the recovery window. */
export interface SessionStoreOptions {
  ttlMs: number
  /** Most sessions a single node keeps (oldest forgotten first). */
  maxSessions?: number
  now?: () => number
}

/** The channels (either subscription kind) a session was subscribed to. */
export function channelsOf (rooms: readonly string[]): Set<string> {
  const channels = new Set<string>()
  for (const room of rooms) {
    const name = clientName(room)?.name
    if (name !== undefined) channels.add(name)
  }
  return channels
}

export function createMemorySessionStore ({ ttlMs, maxSessions = 100_000, now = Date.now }: SessionStoreOptions) {
  const sessions = new Map<string, { session: StoredSession, expiresAt: number }>()

  function forget (pid: string): void {
    sessions.delete(pid)
  }

  function expire (): void {
    const time = now()
    // Insertion order is expiry order: every session gets the same time to live.
    for (const [pid, kept] of sessions) {
      if (kept.expiresAt > time && sessions.size <= maxSessions) break
      forget(pid)
    }
  }

  const sweep = setInterval(expire, 10_000)
  sweep.unref()

  return {
    save (session: StoredSession): void {
      forget(session.pid)
      sessions.set(session.pid, { session, expiresAt: now() + ttlMs })
      expire()
    },
    async take (pid: string): Promise<StoredSession | undefined> {
      expire()
      const kept = sessions.get(pid)
      forget(pid)
      return kept?.session
    },
    get size (): number {
      return sessions.size
    },
    async close (): Promise<void> {
      clearInterval(sweep)
      sessions.clear()
    }
  }
}

export function createRedisSessionStore (client: RedisClient, prefix: string, { ttlMs }: SessionStoreOptions) {
  const writes = new Set<Promise<unknown>>()
  return {
    /** Sent at once; `close` waits for what is still on its way. */
    save (session: StoredSession): void {
      const write = client.set(prefix + session.pid, JSON.stringify(session), { expiration: { type: 'PX', value: ttlMs } })
        .catch(() => {})
        .finally(() => writes.delete(write))
      writes.add(write)
    },
    async take (pid: string): Promise<StoredSession | undefined> {
      const raw = await client.getDel(prefix + pid)
      return typeof raw === 'string' ? JSON.parse(raw) as StoredSession : undefined
    },
    async close (): Promise<void> {
      await Promise.all(writes)
    }
  }
}

export type SessionStore = ReturnType<typeof createMemorySessionStore> | ReturnType<typeof createRedisSessionStore>
