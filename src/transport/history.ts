// The events this node keeps for clients that reconnect: those of channels some node keeps
// (src/transport/interest.ts), in the recovery log's byte budget, read back for a restore only
// when nothing the client may have missed is gone. One log per shard of the bus: positions
// compare within a shard only.
import { compare, positionIn, type Clock, type Position } from '../backplane/positions.ts'
import type { EncodedEvent } from '../channels/delivery.ts'
import type { Interest } from './interest.ts'
import { createRecoveryLog, type LoggedEvent } from './recovery-log.ts'

/** Before the first position of any shard: lost through it, only a client from START cannot recover. */
const JUST_AFTER_START: Position = [0, 0, 0.5]

export interface HistoryOptions {
  interest: Pick<Interest, 'keptSince'>
  shardOf: (channel: string) => number
  maxBytes: number
  keepMs: number
  now?: () => number
}

export function createHistory ({ interest, shardOf, maxBytes, keepMs, now = Date.now }: HistoryOptions) {
  type Log = ReturnType<typeof createRecoveryLog>
  const logs = new Map<number, Log>()
  /** Messages were lost once: a shard not applied by then may have lost some at START. */
  let lostAtStart = false

  function logOf (shard: number): Log {
    let log = logs.get(shard)
    if (log === undefined) {
      // The byte budget is the node's, over every shard's log (below); each log keeps the time limit.
      log = createRecoveryLog({ maxBytes: Number.POSITIVE_INFINITY, keepMs, now })
      if (lostAtStart) log.lostThrough(JUST_AFTER_START)
      logs.set(shard, log)
    }
    return log
  }

  function bytes (): number {
    let total = 0
    for (const log of logs.values()) total += log.stats().bytes
    return total
  }

  /** Over budget: the oldest events go first, whichever shard they are in. */
  function trim (): void {
    if (logs.size === 1) {
      const [only] = logs.values() as Iterable<Log> as [Log]
      while (only.stats().bytes > maxBytes) only.dropOldest()
      return
    }
    while (bytes() > maxBytes) {
      let oldest: Log | undefined
      let oldestAt = Number.POSITIVE_INFINITY
      for (const log of logs.values()) {
        const at = log.oldestAt()
        if (at !== undefined && at < oldestAt) {
          oldest = log
          oldestAt = at
        }
      }
      if (oldest === undefined) return
      oldest.dropOldest()
    }
  }

  return {
    applied (shard: number, position: Position, event: EncodedEvent): void {
      if (event.ephemeral === true || interest.keptSince(event.channel) === undefined) return
      logOf(shard).append(position, event)
      trim()
    },

    /** Each channel's kept events after its position, up to `upTo` in its shard; undefined when one was not kept since, or some were dropped. */
    read (after: ReadonlyMap<string, Position>, upTo: Clock) {
      /** shard → its channels and the earliest position among them. */
      const shards = new Map<number, { channels: Set<string>, earliest: Position }>()
      for (const [channel, position] of after) {
        const since = interest.keptSince(channel)
        if (since === undefined || compare(since, position) > 0) return undefined
        const shard = shardOf(channel)
        const entry = shards.get(shard)
        if (entry === undefined) shards.set(shard, { channels: new Set([channel]), earliest: position })
        else {
          entry.channels.add(channel)
          if (compare(position, entry.earliest) < 0) entry.earliest = position
        }
      }
      const found: LoggedEvent[] = []
      for (const [shard, { channels, earliest }] of shards) {
        const log = logOf(shard)
        if (!log.complete(earliest)) return undefined
        for (const entry of log.read(earliest, positionIn(upTo, shard), channels)) {
          if (compare(entry.position, after.get(entry.event.channel) ?? positionIn(upTo, shard)) > 0) found.push(entry)
        }
      }
      return found
    },

    /** Every shard's events up to its position in `clock` (START for one it lacks) may be gone, and those right after it. */
    lostThrough (clock: Clock): void {
      lostAtStart = true
      for (const log of logs.values()) log.lostThrough(JUST_AFTER_START)
      for (const [shard, [ms, seq, index]] of clock) logOf(shard).lostThrough([ms, seq, index + 0.5])
    },

    /** This node reads the shard from `position` on: nothing up to it is kept. */
    startedAt (shard: number, position: Position): void {
      logOf(shard).lostThrough(position)
    },

    /** This node stopped reading the shard: what it kept of it is stale. */
    forget (shard: number): void {
      logs.delete(shard)
    },

    stats (): { events: number, bytes: number } {
      let events = 0
      for (const log of logs.values()) events += log.stats().events
      return { events, bytes: bytes() }
    }
  }
}
