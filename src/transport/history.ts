// The events this node keeps for clients that reconnect: those of channels some node keeps
// (src/transport/interest.ts), in the recovery log's byte budget, read back for a restore only
// when nothing the client may have missed is gone.
import { compare, type Position } from '../backplane/positions.ts'
import type { EncodedEvent } from '../channels/delivery.ts'
import type { Interest } from './interest.ts'
import { createRecoveryLog } from './recovery-log.ts'

export interface HistoryOptions {
  interest: Pick<Interest, 'keptSince'>
  maxBytes: number
  keepMs: number
}

export function createHistory ({ interest, maxBytes, keepMs }: HistoryOptions) {
  const log = createRecoveryLog({ maxBytes, keepMs })

  return {
    applied (position: Position, event: EncodedEvent): void {
      if (!event.ephemeral && interest.keptSince(event.channel) !== undefined) log.append(position, event)
    },

    /** Each channel's kept events after its position, up to `upTo`; undefined when one was not kept since, or some were dropped. */
    read (after: ReadonlyMap<string, Position>, upTo: Position) {
      let earliest: Position | undefined
      for (const [channel, position] of after) {
        const since = interest.keptSince(channel)
        if (since === undefined || compare(since, position) > 0) return undefined
        if (earliest === undefined || compare(position, earliest) < 0) earliest = position
      }
      if (earliest === undefined) return []
      if (!log.complete(earliest)) return undefined
      return log.read(earliest, upTo, new Set(after.keys()))
        .filter(({ position, event }) => compare(position, after.get(event.channel) ?? upTo) > 0)
    },

    lostThrough: log.lostThrough,
    stats: log.stats
  }
}
