// Numbering of identical messages: what makes the k-th copy of a message the same delivery on every node.
import t from 'tap'
import { createOccurrenceCounter } from '../../../../src/broadcasting/occurrences.ts'

t.test('repeats are numbered until the key has been quiet for the window', async (t) => {
  let now = 0
  const counter = createOccurrenceCounter(10_000, 100, () => now)
  t.same([counter.next('a'), counter.next('a'), counter.next('b'), counter.next('a')], [1, 2, 1, 3])
  now = 9_999
  t.equal(counter.next('a'), 4, 'seen again within the window: the count goes on (and the window restarts)')
  now = 19_998
  t.equal(counter.next('a'), 5)
  now = 29_998
  t.equal(counter.next('a'), 1, 'quiet for a whole window: numbered from 1 again')
  t.equal(counter.size, 1, 'b was forgotten with its window')
})

t.test('at most maxKeys keys are tracked, the least recently seen forgotten first', async (t) => {
  const counter = createOccurrenceCounter(10_000, 2, () => 0)
  counter.next('a')
  counter.next('b')
  counter.next('a')
  counter.next('c')
  t.equal(counter.size, 2)
  t.equal(counter.next('a'), 3, 'a was seen recently: kept')
  t.equal(counter.next('b'), 1, 'b was the least recently seen: forgotten')
})
