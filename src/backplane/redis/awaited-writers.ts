// Writers a node must hear from again after Redis came back (a restart, a failover): the new
// primary may lack their last acknowledged entries, and only a later entry or heartbeat of each,
// carrying its numbers, shows that (append-sequence.ts). A writer declared dead before one is
// read cannot show it: its loss cannot be ruled out, and counts as one (docs/recovery.md).
import { compare, type Position } from '../positions.ts'

export function createAwaitedWriters () {
  const awaited = new Set<string>()
  /** Entries after this one were appended to Redis as it is now: the newest it held when it came back. */
  let after: Position = [0, 0, 0]

  return {
    /** Redis came back holding up to `newest`: each of `writers` (heard from before) is awaited. */
    await (writers: Iterable<string>, newest: Position): void {
      after = newest
      for (const writer of writers) awaited.add(writer)
    },
    /** An entry or heartbeat of `writer` at `position` was read: one after `newest` carries its numbers as they are now. */
    heard (writer: string, position: Position): void {
      if (awaited.size > 0 && compare(position, after) > 0) awaited.delete(writer)
    },
    /** `writer` was declared dead: true when it was awaited still (its loss cannot be ruled out). */
    died (writer: string): boolean {
      return awaited.delete(writer)
    },
    get size (): number {
      return awaited.size
    }
  }
}
