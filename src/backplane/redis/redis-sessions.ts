// Sessions in Redis, for a cluster: stored when a connection is lost, so any node can restore
// them, and copies of live sockets' sessions in one hash per node (`live:<node>`), kept alive by
// its node: a client whose node died without a word restores from there until it expires. Every
// running node is listed (`nodes`), so that one started after a node died (a restart in its
// place) finds that node's hash too.
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
  /** Nodes whose live hash may still be there, scored by when they last renewed it. */
  const nodesKey = `${prefix}nodes`
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
      register()
    }
    if (gone.length > 0) track(client.hDel(liveKey, gone))
  }

  function mark (pid: string, session: StoredSession | null): void {
    dirty.set(pid, session)
    if (flushing) return
    flushing = true
    queueMicrotask(flush)
  }

  /**
   * Lists this node with its hash's renewals, so the list outlives the hash. A node's hash is gone
   * a window after its last renewal: its entry is dropped a window later (a margin for clocks).
   */
  function register (): void {
    const now = Date.now()
    track(client.multi()
      .zAdd(nodesKey, { score: now, value: nodeId })
      .zRemRangeByScore(nodesKey, '-inf', now - 2 * ttlMs)
      .pExpire(nodesKey, ttlMs)
      .exec())
  }

  // The hash outlives this node by the recovery window, and no longer.
  register()
  const keepAlive = setInterval(() => {
    track(client.pExpire(liveKey, ttlMs))
    register()
  }, Math.min(ttlMs / 4, 10_000))
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
      // Dead nodes first, then live ones, then nodes this one never heard from: they died before it
      // started. The last come without `diedAt`: only the client's offset tells what it got.
      const known = new Map(nodes())
      const listed = await client.zRange(nodesKey, 0, -1)
      const candidates = [...new Set([...known.keys(), ...listed])]
      // Each take is one transaction, all sent at once: a copy is restored by one node only.
      const taken = await Promise.all(candidates.map((node) => takeLive(pid, node)))
      for (const [index, session] of taken.entries()) {
        if (session === undefined) continue
        const diedAt = known.get(candidates[index] as string)
        return diedAt === undefined ? { session } : { session, diedAt }
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
