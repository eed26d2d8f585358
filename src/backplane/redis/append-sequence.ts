// Per-node numbers on the entries of the cluster's stream, so that a reader tells a failover's
// loss from a stream that is whole. Redis replicates asynchronously: a new primary may lack the
// newest entries the old one acknowledged, and nothing else in the stream says so. Each node
// numbers what it appends (1, 2, 3 …) and says, with each entry and heartbeat, up to which
// number every append was answered (`s`) and which of those Redis did not store for sure (`v`:
// failed, or a script that appended nothing). A number missing from what a reader read, once
// answered and not among those, was acknowledged: some client may have been promised it
// (docs/recovery.md).

/** At most this many writers are tracked by a reader (the one heard from longest ago is forgotten first). */
export const MAX_TRACKED_WRITERS = 4096
/** Numbers of one writer a reader waits to hear the fate of; past it, it counts them as lost. */
export const MAX_UNSETTLED = 10_000
/** Unstored numbers a writer repeats until an entry saying so is stored; past it, the oldest go unsaid. */
const MAX_UNSTORED = 10_000

/** `q` the entry's number (a heartbeat's: the last number taken), `s` and `v` as above when not implied. */
export type SequenceFields = { q: string, s?: string, v?: string }

function formatRanges (numbers: readonly number[]): string {
  const ranges: string[] = []
  for (let i = 0; i < numbers.length; i++) {
    const from = numbers[i] as number
    let to = from
    while (numbers[i + 1] === to + 1) to = numbers[++i] as number
    ranges.push(from === to ? String(from) : `${from}-${to}`)
  }
  return ranges.join(',')
}

function parseRanges (text: string): number[] {
  const numbers: number[] = []
  for (const range of text.split(',')) {
    const [from, to = from] = range.split('-').map(Number) as [number, number?]
    if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || to - from > MAX_UNSETTLED) continue
    for (let n = from; n <= to; n++) numbers.push(n)
  }
  return numbers
}

export function createAppendSequence () {
  let next = 1
  const pending = new Set<number>()
  /** Every number up to this one was answered. */
  let settledThrough = 0
  /** Answered but not stored for sure, not yet said in an entry Redis stored. */
  let unstored: number[] = []

  function fields (q: number, settledImplied: number): SequenceFields {
    return {
      q: String(q),
      ...(settledThrough !== settledImplied && { s: String(settledThrough) }),
      ...(unstored.length > 0 && { v: formatRanges(unstored) })
    }
  }

  return {
    /** The number of the entry about to be sent, its fields, and what it says of unstored numbers. */
    take (): { fields: SequenceFields, number: number, says: readonly number[] } {
      const number = next++
      pending.add(number)
      return { fields: fields(number, number - 1), number, says: unstored.slice() }
    },
    /** A heartbeat's fields: the last number taken and what became of them; undefined before the first. */
    checkpoint (): SequenceFields | undefined {
      return next === 1 ? undefined : fields(next - 1, next - 1)
    },
    /** Entry `number` was answered: `stored` when Redis stored it; it said `says` unstored. */
    settled (number: number, stored: boolean, says: readonly number[]): void {
      if (!pending.delete(number)) return
      if (stored && says.length > 0) unstored = unstored.filter((n) => !says.includes(n))
      if (!stored) {
        unstored.push(number)
        unstored.sort((a, b) => a - b)
        if (unstored.length > MAX_UNSTORED) unstored.shift()
      }
      while (settledThrough + 1 < next && !pending.has(settledThrough + 1)) settledThrough++
    }
  }
}

export type Verdict = 'new' | 'seen' | 'lost'

interface Writer {
  /** The highest number known taken. */
  last: number
  /** Numbers up to `last` not read, whose fate is not known yet. */
  unread: Set<number>
}

export function createSequenceReader (maxWriters = MAX_TRACKED_WRITERS) {
  const writers = new Map<string, Writer>()

  function track (name: string, writer: Writer): void {
    writers.delete(name)
    writers.set(name, writer)
    if (writers.size > maxWriters) writers.delete(writers.keys().next().value as string)
  }

  return {
    /**
     * An entry of `writer` (a heartbeat when `checkpoint`): `seen` when read already, `lost` when
     * acknowledged entries of that writer are missing (it is applied all the same), else `new`.
     */
    read (name: string, fields: Record<string, string>, checkpoint = false): Verdict {
      const q = Number(fields.q)
      if (fields.q === undefined || !Number.isSafeInteger(q) || q < 1) return 'new'
      const writer = writers.get(name)
      // A writer met for the first time starts at its first entry read (its heartbeat cannot tell
      // whether its last entry comes before it or after).
      if (writer === undefined) {
        if (!checkpoint) track(name, { last: q, unread: new Set() })
        return 'new'
      }
      if (!checkpoint && q <= writer.last) {
        if (!writer.unread.delete(q)) return 'seen'
      } else if (q > writer.last) {
        if (q - writer.last > MAX_UNSETTLED) {
          track(name, { last: q, unread: new Set() })
          return 'lost'
        }
        for (let n = writer.last + 1; n < q; n++) writer.unread.add(n)
        if (checkpoint) writer.unread.add(q)
        writer.last = q
      }
      track(name, writer)
      if (fields.v !== undefined) for (const n of parseRanges(fields.v)) writer.unread.delete(n)
      const settled = fields.s === undefined ? (checkpoint ? q : q - 1) : Number(fields.s)
      let lost = false
      for (const n of writer.unread) {
        if (n > settled) continue
        writer.unread.delete(n)
        lost = true
      }
      if (writer.unread.size > MAX_UNSETTLED) {
        writer.unread.clear()
        lost = true
      }
      return lost ? 'lost' : 'new'
    },
    /** Whether entry `q` of `writer` was read already. */
    seen (name: string, q: number): boolean {
      const writer = writers.get(name)
      return writer !== undefined && q <= writer.last && !writer.unread.has(q)
    },
    forget (name: string): void {
      writers.delete(name)
    },
    /** The writers tracked: entries of theirs were read. */
    tracked (): string[] {
      return [...writers.keys()]
    },
    /** Entries were skipped unread (trimmed): each writer starts again where it is next read. */
    reset (): void {
      writers.clear()
    },
    get size (): number {
      return writers.size
    }
  }
}
