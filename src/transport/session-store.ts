// Sessions of clients that lost their connection, kept for the recovery window so that a
// client back in time gets its id, subscriptions and socket data again: in memory on a
// single node, in Redis in a cluster (any node can restore them).
import { subscriptionOf } from './channels.ts'
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
    const name = subscriptionOf(room)?.channel
    if (name !== undefined) channels.add(name)
  }
  return channels
}

/** Sessions in memory, for a single node. */
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
    // One node looks its live sockets up itself (the transport): nothing is copied per socket.
    live (_session: StoredSession): void {},
    ended (_pid: string): void {},
    async takeLive (_pid: string): Promise<StoredSession | undefined> {
      return undefined
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

/**
 * Sessions in Redis, for a cluster: stored when a connection is lost, so any node can restore
 * them. Sessions of live sockets are also kept, in one hash per node (`live:<node>`) that the
 * node keeps alive: a client back before its old connection was seen closed, or whose node
 * died without a word (SIGKILL, a crash), restores from there, until the hash expires.
 */
export function createRedisSessionStore (client: RedisClient, prefix: string, { ttlMs }: SessionStoreOptions, nodeId: string) {
  const writes = new Set<Promise<unknown>>()
  const liveKey = `${prefix}live:${nodeId}`
  const dirty = new Map<string, StoredSession | null>()
  let flushing = false

  function track (write: Promise<unknown>): void {
    const tracked: Promise<unknown> = write.catch(() => {}).finally(() => writes.delete(tracked))
    writes.add(tracked)
  }

  /** Writes the live sessions that changed in this tick, in one command each way. */
  function flush (): void {
    flushing = false
    const changed: Record<string, string> = {}
    const gone: string[] = []
    for (const [pid, session] of dirty) {
      if (session === null) gone.push(pid)
      else changed[pid] = JSON.stringify(session)
    }
    dirty.clear()
    if (Object.keys(changed).length > 0) {
      track(client.multi().hSet(liveKey, changed).pExpire(liveKey, ttlMs).exec())
    }
    if (gone.length > 0) track(client.hDel(liveKey, gone))
  }

  function mark (pid: string, session: StoredSession | null): void {
    dirty.set(pid, session)
    if (flushing) return
    flushing = true
    queueMicrotask(flush)
  }

  // The hash outlives this node by the recovery window, and no longer.
  const keepAlive = setInterval(() => { track(client.pExpire(liveKey, ttlMs)) }, Math.min(ttlMs / 4, 10_000))
  keepAlive.unref()

  return {
    /** Sent at once; `close` waits for what is still on its way. */
    save (session: StoredSession): void {
      mark(session.pid, null)
      track(client.set(prefix + session.pid, JSON.stringify(session), { expiration: { type: 'PX', value: ttlMs } }))
    },
    async take (pid: string): Promise<StoredSession | undefined> {
      const raw = await client.getDel(prefix + pid)
      return typeof raw === 'string' ? JSON.parse(raw) as StoredSession : undefined
    },
    /** The session of a live socket, as it is now (its rooms or data changed). */
    live (session: StoredSession): void {
      mark(session.pid, session)
    },
    /** The socket is gone for good (not to be restored). */
    ended (pid: string): void {
      mark(pid, null)
    },
    /** The session of a live socket of `node` (which may have died), taken so it is restored once. */
    async takeLive (pid: string, node: string): Promise<StoredSession | undefined> {
      const key = `${prefix}live:${node}`
      const [raw] = await client.multi().hGet(key, pid).hDel(key, pid).exec() as unknown as [string | null, number]
      return typeof raw === 'string' ? JSON.parse(raw) as StoredSession : undefined
    },
    async close (): Promise<void> {
      clearInterval(keepAlive)
      flush()
      await Promise.all(writes)
    }
  }
}

export type SessionStore = ReturnType<typeof createMemorySessionStore> | ReturnType<typeof createRedisSessionStore>
