// Positions in the event stream: every applied event has one; a client keeps the last one it got
// (as its offset) and sends it back when it reconnects.

/** Compared in order: `[0, sequence, 0]` on one node; a Redis stream entry `ms-seq` and the event's index in it. */
export type Position = readonly [number, number, number]

export const START: Position = [0, 0, 0]

export function compare (a: Position, b: Position): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2]
}

export function later (a: Position, b: Position): Position {
  return compare(a, b) >= 0 ? a : b
}
