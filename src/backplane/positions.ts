// Positions in the event stream: every applied event has one; a client keeps the last one it got
// (as its offset) and sends it back when it reconnects. The bus may be split into shards, each a
// stream of its own (a channel's events all go through one): positions compare within a shard,
// and how far a node has applied the bus is a clock, one position per shard.

/** Compared in order: `[0, sequence, 0]` on one node; a Redis stream entry `ms-seq` and the event's index in it. */
export type Position = readonly [number, number, number]

/** shard → the last position applied there; a shard absent is at START. */
export type Clock = ReadonlyMap<number, Position>

export const START: Position = [0, 0, 0]

/** The shard of a split bus's own stream (the nodes' messages, no channel's events): in no clock. */
export const CONTROL = -1

export function compare (a: Position, b: Position): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2]
}

export function later (a: Position, b: Position): Position {
  return compare(a, b) >= 0 ? a : b
}

export function positionIn (clock: Clock, shard: number): Position {
  return clock.get(shard) ?? START
}

/** Whether `clock` is at or past `target` in every shard `target` names. */
export function reached (clock: Clock, target: Clock): boolean {
  for (const [shard, position] of target) if (compare(positionIn(clock, shard), position) < 0) return false
  return true
}
