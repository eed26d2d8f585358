// The events a node keeps for clients that reconnect: within a byte budget, oldest out first,
// for a limited time; only events of channels someone could miss (the transport decides).
import { compare, type Position } from '../backplane/positions.ts'
import { sizeOf, type EncodedEvent } from '../channels/delivery.ts'

export interface LoggedEvent {
  position: Position
  event: EncodedEvent
  bytes: number
  at: number
}

export interface RecoveryLogOptions {
  maxBytes: number
  keepMs: number
  now?: () => number
}

export function createRecoveryLog ({ maxBytes, keepMs, now = Date.now }: RecoveryLogOptions) {
  // A queue: appended at the end, dropped from `head`; compacted when half of it is dropped.
  let entries: LoggedEvent[] = []
  let head = 0
  let bytes = 0
  /** Everything after this position is still here; what is at or before it may be gone. */
  let droppedThrough: Position | undefined

  function dropHead (): void {
    const oldest = entries[head] as LoggedEvent
    bytes -= oldest.bytes
    droppedThrough = oldest.position
    head += 1
    if (head > 1024 && head * 2 > entries.length) {
      entries = entries.slice(head)
      head = 0
    }
  }

  function trim (): void {
    const expired = now() - keepMs
    while (head < entries.length && ((entries[head] as LoggedEvent).at < expired || bytes > maxBytes)) dropHead()
  }

  function firstAfter (position: Position): number {
    let low = head
    let high = entries.length
    while (low < high) {
      const middle = (low + high) >>> 1
      if (compare((entries[middle] as LoggedEvent).position, position) <= 0) low = middle + 1
      else high = middle
    }
    return low
  }

  return {
    append (position: Position, event: EncodedEvent): void {
      const size = sizeOf(event)
      entries.push({ position, event, bytes: size, at: now() })
      bytes += size
      trim()
    },

    complete (position: Position): boolean {
      trim()
      return droppedThrough === undefined || compare(position, droppedThrough) >= 0
    },

    read (after: Position, upTo: Position, channels: ReadonlySet<string>): LoggedEvent[] {
      const found: LoggedEvent[] = []
      for (let i = firstAfter(after); i < entries.length; i++) {
        const entry = entries[i] as LoggedEvent
        if (compare(entry.position, upTo) > 0) break
        if (channels.has(entry.event.channel)) found.push(entry)
      }
      return found
    },

    lostThrough (position: Position): void {
      while (head < entries.length && compare((entries[head] as LoggedEvent).position, position) <= 0) dropHead()
      if (droppedThrough === undefined || compare(position, droppedThrough) > 0) droppedThrough = position
    },

    /** When its oldest event was appended (undefined: empty). */
    oldestAt (): number | undefined {
      return (entries[head] as LoggedEvent | undefined)?.at
    },

    /** Drops its oldest event, for a budget shared with other logs. */
    dropOldest (): void {
      if (head < entries.length) dropHead()
    },

    stats (): { events: number, bytes: number } {
      trim()
      return { events: entries.length - head, bytes }
    }
  }
}
