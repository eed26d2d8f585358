// Which occurrence of an identical message this is, within a window: every node of a cluster
// receives the same Laravel Redis messages in the same order, so the k-th copy of a message
// has the same number k on every node, and `<hash>:<k>` names the same delivery everywhere.

export interface OccurrenceCounter {
  /** 1 for the first time `key` is seen within the window, 2 for the second, and so on. */
  next (key: string): number
  readonly size: number
}

interface Entry {
  count: number
  lastSeen: number
}

/**
 * Counts repeats of each key; a key's count starts again once it has not been seen for
 * `windowMs`. At most `maxKeys` keys are tracked (the least recently seen is forgotten).
 */
export function createOccurrenceCounter (windowMs: number, maxKeys: number, now: () => number = Date.now): OccurrenceCounter {
  // Insertion order is last-seen order: a key seen again is moved to the end.
  const counts = new Map<string, Entry>()
  // The least recently seen entry, read through one live iterator: a new scan from the start for
  // every message would step again over every deleted entry (a Map keeps them until it rebuilds).
  let cursor: Iterator<[string, Entry]> | undefined
  let oldest: [string, Entry] | undefined

  function leastRecent (): [string, Entry] | undefined {
    // An entry read earlier may have been forgotten or moved to the end since.
    while (oldest === undefined || counts.get(oldest[0]) !== oldest[1]) {
      cursor ??= counts.entries()
      const step = cursor.next()
      if (step.done === true) {
        cursor = undefined
        oldest = undefined
        return undefined
      }
      oldest = step.value
    }
    return oldest
  }

  function forgetStale (time: number): void {
    for (let entry = leastRecent(); entry !== undefined; entry = leastRecent()) {
      if (time - entry[1].lastSeen < windowMs && counts.size <= maxKeys) break
      counts.delete(entry[0])
    }
  }

  return {
    next (key) {
      const time = now()
      forgetStale(time)
      const entry = counts.get(key)
      const count = entry === undefined ? 1 : entry.count + 1
      counts.delete(key)
      counts.set(key, { count, lastSeen: time })
      if (counts.size > maxKeys) forgetStale(time)
      return count
    },
    get size () { return counts.size }
  }
}
