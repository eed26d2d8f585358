// Positions in the event stream. Every event a node applies has one, in the order the node
// applied it; a client keeps the offset (the position as text) of the last event it got and
// sends it back when it reconnects, so the bridge knows what it missed.

/**
 * `[a, b, c]`, compared in that order. On a single node `[0, sequence, 0]`; in a cluster
 * `[ms, seq, index]`: the Redis stream entry id `ms-seq` and the event's index in that entry.
 */
export type Position = readonly [number, number, number]

export const START: Position = [0, 0, 0]

export function compare (a: Position, b: Position): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2]
}

export function later (a: Position, b: Position): Position {
  return compare(a, b) >= 0 ? a : b
}
