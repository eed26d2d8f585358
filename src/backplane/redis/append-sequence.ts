// Per-node numbers on the entries of the cluster's stream, so that a reader tells a failover's
// loss from a stream that is whole. Redis replicates asynchronously: a new primary may lack the
// newest entries the old one acknowledged, and nothing else in the stream says so. Each node
// numbers what it appends (1, 2, 3 …); an entry whose predecessors were not all acknowledged when
// it was sent says which was the highest that was. On one connection Redis stores and replicates
// in the order sent, so a reader that meets a jump over an acknowledged number knows entries some
// client was promised are gone (docs/recovery.md).

/** At most this many writers are tracked by a reader (the oldest heard from is forgotten first). */
export const MAX_TRACKED_WRITERS = 4096

/** The fields an entry carries: `q` its number, `a` the highest acknowledged before it when not q - 1. */
export type SequenceFields = { q: string, a?: string }

export function createAppendSequence () {
  let next = 1
  let highestAcked = 0
  return {
    /** The number of the entry about to be sent, and what was acknowledged before it. */
    take (): { fields: SequenceFields, number: number } {
      const number = next++
      // Earlier numbers still unanswered or refused may be absent: the reader is told which are not.
      const fields: SequenceFields = highestAcked === number - 1 ? { q: String(number) } : { q: String(number), a: String(highestAcked) }
      return { fields, number }
    },
    /** Redis stored entry `number` (its answer came): readers may count on it. */
    acked (number: number): void {
      if (number > highestAcked) highestAcked = number
    }
  }
}

export type Verdict = 'new' | 'seen' | 'lost'

export function createSequenceReader (maxWriters = MAX_TRACKED_WRITERS) {
  /** Per writer, the highest number read; in the order last heard from, oldest first. */
  const last = new Map<string, number>()

  return {
    /**
     * An entry of `writer` numbered `q` (with `a`, the highest acknowledged before it, if given):
     * `seen` when read already, `lost` when acknowledged entries before it are missing, else `new`.
     */
    read (writer: string, q: number, a?: number): Verdict {
      const previous = last.get(writer)
      if (previous !== undefined && q <= previous) return 'seen'
      last.delete(writer)
      last.set(writer, q)
      if (last.size > maxWriters) last.delete(last.keys().next().value as string)
      // A writer met for the first time starts where it is read from.
      if (previous === undefined) return 'new'
      // Numbers after `previous` and before `q` are missing; `a` among them was acknowledged.
      const acknowledged = a ?? q - 1
      return acknowledged > previous ? 'lost' : 'new'
    },
    /** Whether entry `q` of `writer` was read (or passed over) already. */
    seen (writer: string, q: number): boolean {
      const previous = last.get(writer)
      return previous !== undefined && q <= previous
    },
    forget (writer: string): void {
      last.delete(writer)
    },
    /** Entries were skipped unread (trimmed): each writer starts again where it is next read. */
    reset (): void {
      last.clear()
    },
    get size (): number {
      return last.size
    }
  }
}

export type SequenceReader = ReturnType<typeof createSequenceReader>

/** The number and acknowledged mark of an entry's fields; undefined for an entry without them. */
export function sequenceOf (fields: Record<string, string>): { q: number, a?: number } | undefined {
  if (fields.q === undefined) return undefined
  const q = Number(fields.q)
  if (!Number.isSafeInteger(q) || q < 1) return undefined
  const a = fields.a === undefined ? undefined : Number(fields.a)
  return a === undefined || !Number.isSafeInteger(a) ? { q } : { q, a }
}
