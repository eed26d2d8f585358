// Which occurrence of an identical message this is, within a window: every node of a cluster
// receives the same Laravel Redis messages in the same order, so the k-th copy of a message
// has the same number k on every node, and `<hash>:<k>` names the same delivery everywhere.

export interface OccurrenceCounter {
  next (key: string): number
  readonly size: number
}

interface Entry {
  count: number
  lastSeen: number
}

/** A key's count starts again once unseen for `windowMs`; at most `maxKeys` tracked (least recently seen forgotten). */
export function createOccurrenceCounter (windowMs: number, maxKeys: number, now: () => number = Date.now): OccurrenceCounter {
  const counts = new Map<string, Entry>()
  // The least recently seen entry, through one live iterator: a scan from the start per message
  // would step over every deleted entry again.
  let cursor: Iterator<[string, Entry]> | undefined
  let oldest: [string, Entry] | undefined

  function leastRecent (): [string, Entry] | undefined {
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
