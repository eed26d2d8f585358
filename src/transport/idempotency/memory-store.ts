// De-duplication for a single node: an LRU with a time-to-live, bounded in entries, so a
// flood of unique uuids evicts the oldest instead of growing without limit.
import { LRUCache } from 'lru-cache'
import type { IdempotencyStore } from './store.ts'

export const DEFAULT_MAX_ENTRIES = 100_000

export interface MemoryStoreOptions {
  /** Most uuids remembered; past it the oldest claim is forgotten, even within its window. */
  maxEntries?: number
  /** The clock the time-to-live is measured with (tests move it instead of waiting). */
  clock?: { now (): number }
}

export class MemoryIdempotencyStore implements IdempotencyStore {
  readonly #claims: LRUCache<string, true>

  constructor ({ maxEntries = DEFAULT_MAX_ENTRIES, clock }: MemoryStoreOptions = {}) {
    this.#claims = new LRUCache({
      max: maxEntries,
      // Expired claims are dropped when looked up or evicted, not by a timer per entry.
      ttlAutopurge: false,
      // Read the clock on every check: a cached "now" could let a claim outlive its window.
      ttlResolution: 0,
      ...(clock !== undefined && { perf: clock })
    })
  }

  get size (): number {
    return this.#claims.size
  }

  async claim (uuid: string, ttlSeconds: number): Promise<boolean> {
    if (ttlSeconds <= 0) return true
    // `has` and `set` run in one tick, so two concurrent publishes cannot both claim a uuid.
    if (this.#claims.has(uuid)) return false
    this.#claims.set(uuid, true, { ttl: ttlSeconds * 1000 })
    return true
  }

  async claimAll (uuids: readonly string[], ttlSeconds: number): Promise<boolean[]> {
    return await Promise.all(uuids.map((uuid) => this.claim(uuid, ttlSeconds)))
  }

  async release (uuid: string): Promise<void> {
    this.#claims.delete(uuid)
  }

  async close (): Promise<void> {
    this.#claims.clear()
  }
}
