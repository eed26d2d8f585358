// Sessions of clients that lost their connection, in memory, for a bridge that runs alone: a
// client back within the recovery window gets its id, subscriptions and socket data again.
import type { StoredSession } from '../backplane.ts'

export interface MemorySessionStoreOptions {
  /** Longest a session is kept: the recovery window. */
  ttlMs: number
  /** Most sessions kept (oldest forgotten first). */
  maxSessions?: number
  now?: () => number
}

export function createMemorySessionStore ({ ttlMs, maxSessions = 100_000, now = Date.now }: MemorySessionStoreOptions) {
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
