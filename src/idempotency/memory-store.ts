// De-duplication for a single node: an LRU with a time-to-live, bounded in entries, so a
// flood of unique uuids evicts the oldest instead of growing without limit.
import { LRUCache } from 'lru-cache'
import type { IdempotencyStore } from './store.ts'

export const DEFAULT_MAX_ENTRIES = 100_000

export class MemoryIdempotencyStore implements IdempotencyStore {
  readonly #claims: LRUCache<string, true>

  constructor (maxEntries = DEFAULT_MAX_ENTRIES) {
    this.#claims = new LRUCache({ max: maxEntries, ttlAutopurge: false })
  }

  get size (): number {
    return this.#claims.size
  }

  async claim (uuid: string, ttlSeconds: number): Promise<boolean> {
    if (ttlSeconds <= 0) return true
    if (this.#claims.has(uuid)) return false
    this.#claims.set(uuid, true, { ttl: ttlSeconds * 1000 })
    return true
  }

  async release (uuid: string): Promise<void> {
    this.#claims.delete(uuid)
  }

  async close (): Promise<void> {
    this.#claims.clear()
  }
}
