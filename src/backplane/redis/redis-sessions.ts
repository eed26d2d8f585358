// Sessions in Redis, for a cluster: stored when a connection is lost, so any node can restore
// them, and copies of live sockets' sessions in one hash per node (`live:<node>`), kept alive by
// its node: a client whose node died without a word restores from there until it expires.
import type { LiveSessionCopies, SessionStore, StoredSession } from '../backplane.ts'
import type { RedisClient } from './connection.ts'

export interface RedisSessionStoreOptions {
  client: RedisClient
  prefix: string
  ttlMs: number
  nodeId: string
  /** Nodes a client may come back from: alive ones, and dead ones with when they died. */
  nodes: () => Iterable<[node: string, diedAt: number | undefined]>
}

export function createRedisSessionStore ({ client, prefix, ttlMs, nodeId, nodes }: RedisSessionStoreOptions): SessionStore {
  const writes = new Set<Promise<unknown>>()
  const liveKey = `${prefix}live:${nodeId}`
  const dirty = new Map<string, StoredSession | null>()
  let flushing = false

  function track (write: Promise<unknown>): void {
    const tracked: Promise<unknown> = write.catch(() => {}).finally(() => writes.delete(tracked))
    writes.add(tracked)
  }

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

  async function takeLive (pid: string, node: string): Promise<StoredSession | undefined> {
    const key = `${prefix}live:${node}`
    const [raw] = await client.multi().hGet(key, pid).hDel(key, pid).exec() as unknown as [string | null, number]
    return typeof raw === 'string' ? JSON.parse(raw) as StoredSession : undefined
  }

  const live: LiveSessionCopies = {
    changed: (session) => mark(session.pid, session),
    ended: (pid) => mark(pid, null),
    async take (pid) {
      for (const [node, diedAt] of nodes()) {
        const session = await takeLive(pid, node)
        if (session !== undefined) return diedAt === undefined ? { session } : { session, diedAt }
      }
      return undefined
    }
  }

  return {
    save (session: StoredSession): void {
      mark(session.pid, null)
      track(client.set(prefix + session.pid, JSON.stringify(session), { expiration: { type: 'PX', value: ttlMs } }))
    },
    async take (pid: string): Promise<StoredSession | undefined> {
      const raw = await client.getDel(prefix + pid)
      return typeof raw === 'string' ? JSON.parse(raw) as StoredSession : undefined
    },
    live,
    async close (): Promise<void> {
      clearInterval(keepAlive)
      flush()
      await Promise.all(writes)
    }
  }
}
