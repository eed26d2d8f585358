// What reconnecting clients missed, counted from what they received and what was accepted.
import t from 'tap'
import { countGaps, countNeverReceived } from '../../../bench/gaps.ts'
import type { MemberTrace } from '../../../bench/reconnector.ts'

const trace = (room: string, ids: number[], restarts: number[] = []): MemberTrace => ({ room, ids, restarts, recovered: 0, refusedAttempts: 0 })
// Publish seq goes to rooms[seq % 2]: a gets 0, 2, 4, 6; b gets 1, 3, 5, 7.
const rooms = ['a', 'b']
const accepted = [0, 1, 2, 3, 4, 5, 6, 7]

t.test('an event that arrives after a later one is late, not lost', async (t) => {
  const traces = [trace('a', [0, 4, 2, 6])]
  t.same(countNeverReceived(traces, accepted, rooms), { owed: 4, neverUntold: 0, neverTold: 0, twice: 0 })
  // The sequence view counts a gap on each side of the late one (2, then 4), and a repeat.
  const gaps = countGaps(traces, accepted, rooms)
  t.equal(gaps.missedWhileRecovered, 2)
  t.equal(gaps.duplicates, 1)
})

t.test('events never received count against the client, told or not', async (t) => {
  const figures = countNeverReceived([trace('a', [0, 6]), trace('b', [1, 1, 7], [2])], accepted, rooms)
  t.same(figures, { owed: 8, neverUntold: 2, neverTold: 2, twice: 1 })
})

t.test('only accepted events are owed', async (t) => {
  t.same(countNeverReceived([trace('a', [0])], [0, 1], rooms), { owed: 1, neverUntold: 0, neverTold: 0, twice: 0 })
})
