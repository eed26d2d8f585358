// The occurrence counter numbers exactly as a plain model does (scan every key, forget the
// stale and the least recently seen) over random sequences of keys and clock steps: its
// single live iterator over the oldest entries loses nothing when keys move or are forgotten.
import fc from 'fast-check'
import t from 'tap'
import { createOccurrenceCounter } from '../../../../src/broadcasting/occurrences.ts'

/** What the counter means, without its shortcuts. */
function model (windowMs: number, maxKeys: number) {
  let seen: Array<{ key: string, count: number, lastSeen: number }> = []
  return (key: string, time: number): number => {
    seen = seen.filter((entry) => time - entry.lastSeen < windowMs)
    const entry = seen.find((candidate) => candidate.key === key)
    const count = entry === undefined ? 1 : entry.count + 1
    seen = [...seen.filter((candidate) => candidate.key !== key), { key, count, lastSeen: time }]
    seen = seen.slice(Math.max(0, seen.length - maxKeys))
    return count
  }
}

t.test('numbers as the model does', async (t) => {
  const step = fc.record({ key: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), advance: fc.constantFrom(0, 0, 1, 3, 10) })
  fc.assert(fc.property(fc.array(step, { maxLength: 300 }), fc.integer({ min: 1, max: 5 }), (steps, maxKeys) => {
    let time = 0
    const counter = createOccurrenceCounter(10, maxKeys, () => time)
    const expected = model(10, maxKeys)
    for (const { key, advance } of steps) {
      time += advance
      if (counter.next(key) !== expected(key, time)) return false
    }
    return true
  }), { numRuns: 500 })
  t.pass('500 random sequences')
})

t.test('a flood of distinct keys past maxKeys keeps the count bounded and numbers repeats', async (t) => {
  const counter = createOccurrenceCounter(10_000, 1000, () => 0)
  for (let i = 0; i < 50_000; i++) counter.next(`k${i}`)
  t.equal(counter.size, 1000)
  t.equal(counter.next('k49999'), 2, 'a recent key is still counted')
  t.equal(counter.next('k0'), 1, 'an old one was forgotten')
})
