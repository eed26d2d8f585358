// The clock of one turn of the event loop (src/ops/event-loop-turn.ts), on a clock the test moves.
import { setImmediate as nextTurn } from 'node:timers/promises'
import t from 'tap'
import { turnClock } from '../../../../src/ops/event-loop-turn.ts'

t.test('a turn is timed from its first call, and the next turn starts from zero', async (t) => {
  let now = 1000
  const turn = turnClock(() => now)
  t.equal(turn.elapsed(), 0, 'the first call starts the turn')
  now = 1040
  t.equal(turn.elapsed(), 40, 'later calls in the same turn see the time since then')
  now = 1250
  t.equal(turn.elapsed(), 250)

  await nextTurn()
  now = 1300
  t.equal(turn.elapsed(), 0, 'the first call of the next turn starts it again')
  now = 1310
  t.equal(turn.elapsed(), 10)
})
