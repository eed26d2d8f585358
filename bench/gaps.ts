// Counting what reconnecting clients missed, from what each received and what was accepted.
import type { MemberTrace } from './reconnector.ts'

export interface GapFigures {
  members: number
  /** Reconnects that came back with `recovered === true`, and those that did not. */
  recovered: number
  restarted: number
  /** Accepted events a member never got in a stretch it was told it recovered: must be 0. */
  missedWhileRecovered: number
  /** Accepted events missed across a reconnect with `recovered === false` (the app reloads). */
  missedAcrossRestart: number
  /** Events received again, or out of order. */
  duplicates: number
  /** Which events were missed while recovered, and by how many members (the first few). */
  missedExamples: string[]
}

/** How many of the sorted `values` lie strictly between `low` and `high`. */
function countBetween (values: number[], low: number, high: number): number {
  const firstAbove = (bound: number) => {
    let lo = 0
    let hi = values.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if ((values[mid] as number) <= bound) lo = mid + 1
      else hi = mid
    }
    return lo
  }
  return Math.max(0, firstAbove(high - 1) - firstAbove(low))
}

/**
 * Publish `seq` went to `rooms[seq % rooms.length]`; `acceptedSeqs` are those answered 202.
 * Each member is owed every accepted event of its room from the start of the run to its end.
 */
export function countGaps (traces: MemberTrace[], acceptedSeqs: number[], rooms: string[]): GapFigures {
  const acceptedIn = new Map<string, number[]>()
  for (const seq of acceptedSeqs) {
    const room = rooms[seq % rooms.length] as string
    let list = acceptedIn.get(room)
    if (list === undefined) acceptedIn.set(room, list = [])
    list.push(seq)
  }
  for (const list of acceptedIn.values()) list.sort((a, b) => a - b)

  const figures: GapFigures = { members: traces.length, recovered: 0, restarted: 0, missedWhileRecovered: 0, missedAcrossRestart: 0, duplicates: 0, missedExamples: [] }
  for (const trace of traces) {
    figures.recovered += trace.recovered
    figures.restarted += trace.restarts.length
    const accepted = acceptedIn.get(trace.room) ?? []
    const restarts = new Set(trace.restarts)
    // Stretches between received events, with the start and the end of the run as bounds.
    const ids = [-1, ...trace.ids, Number.MAX_SAFE_INTEGER]
    for (let i = 1; i < ids.length; i++) {
      const low = ids[i - 1] as number
      const high = ids[i] as number
      if (high <= low) {
        figures.duplicates++
        continue
      }
      const missed = countBetween(accepted, low, high)
      // The stretch ending at trace.ids[i - 1] (or at the end) began with a restart recorded at i - 1.
      if (restarts.has(i - 1)) figures.missedAcrossRestart += missed
      else {
        figures.missedWhileRecovered += missed
        if (missed > 0 && figures.missedExamples.length < 5) {
          const restartsBefore = trace.restarts.filter((index) => index < i).length
          figures.missedExamples.push(`member ${traces.indexOf(trace)} missed ${missed} between #${low} and #${high} (received ${i - 1} before, ${restartsBefore} restarts before, ${trace.recovered} recoveries in all)`)
        }
      }
    }
  }
  return figures
}

export interface OwedFigures {
  /** Accepted events of each member's room, summed over the members. */
  owed: number
  /** Owed and never received, by members never told and by members told `recovered === false`. */
  neverUntold: number
  neverTold: number
  /** Events a member received more than once. */
  twice: number
}

/**
 * What each member never received at all, whatever the order things came in: an event that
 * arrives after a later one is late, not lost (countGaps counts it as a gap and a repeat).
 */
export function countNeverReceived (traces: MemberTrace[], acceptedSeqs: number[], rooms: string[]): OwedFigures {
  const acceptedIn = new Map<string, number[]>()
  for (const seq of acceptedSeqs) {
    const room = rooms[seq % rooms.length] as string
    const list = acceptedIn.get(room) ?? []
    list.push(seq)
    acceptedIn.set(room, list)
  }
  const figures: OwedFigures = { owed: 0, neverUntold: 0, neverTold: 0, twice: 0 }
  for (const trace of traces) {
    const got = new Set(trace.ids)
    const owed = acceptedIn.get(trace.room) ?? []
    const missing = owed.filter((seq) => !got.has(seq)).length
    figures.owed += owed.length
    figures.twice += trace.ids.length - got.size
    if (trace.restarts.length > 0) figures.neverTold += missing
    else figures.neverUntold += missing
  }
  return figures
}
