// Claims on a Redis Cluster: the keys of one batch lie in different slots, which one script
// cannot touch together, so each key is claimed by its own SET NX, all sent at once. A key
// named twice in a batch is claimed by its first mention: both go, in order, to the one
// primary that owns its slot.
import type { ClaimStore } from '../backplane.ts'

export function claimsAcrossSlots (store: ClaimStore): ClaimStore {
  return {
    claim: (key, ttlSeconds) => store.claim(key, ttlSeconds),
    claimAll: (keys, ttlSeconds) => Promise.all(keys.map((key) => store.claim(key, ttlSeconds))),
    release: (key) => store.release(key),
    close: () => store.close()
  }
}
