// The recovery log: a byte budget, oldest out first, a time limit, and an honest answer to
// "is everything after this position still here?".
import t from 'tap'
import type { EncodedEvent } from '../../../../src/channels/delivery.ts'
import { sizeOf } from '../../../../src/channels/delivery.ts'
import { createRecoveryLog } from '../../../../src/transport/recovery-log.ts'

function event (channel: string, n: number, size = 100): EncodedEvent {
  return { channel, event: 'new_message', payloadJson: JSON.stringify({ n: String(n).padStart(2, '0'), pad: 'x'.repeat(size) }) }
}

t.test('keeps at most its byte budget, dropping the oldest first', async (t) => {
  const one = sizeOf(event('a', 0))
  const log = createRecoveryLog({ maxBytes: one * 10, keepMs: 60_000 })
  for (let n = 1; n <= 25; n++) log.append([0, n, 0], event(n % 2 === 0 ? 'a' : 'b', n))
  const { events, bytes } = log.stats()
  t.equal(events, 10, 'ten events fit')
  t.ok(bytes <= one * 10, `within the budget (${bytes} bytes)`)
  t.same(log.read([0, 0, 0], [0, 25, 0], new Set(['a', 'b'])).map(({ position }) => position[1]),
    [16, 17, 18, 19, 20, 21, 22, 23, 24, 25], 'the newest ten, in order')
  t.equal(log.complete([0, 14, 0]), false, 'an event after 14 was dropped')
  t.equal(log.complete([0, 15, 0]), true, 'everything after 15 is here')
})

t.test('drops events older than its time limit', async (t) => {
  let now = 1_000_000
  const log = createRecoveryLog({ maxBytes: 1e9, keepMs: 1000, now: () => now })
  log.append([0, 1, 0], event('a', 1))
  now += 500
  log.append([0, 2, 0], event('a', 2))
  now += 600
  t.same(log.stats().events, 1, 'the first one expired')
  t.equal(log.complete([0, 0, 0]), false)
  t.equal(log.complete([0, 1, 0]), true)
})

t.test('reads the events of the given channels between two positions', async (t) => {
  const log = createRecoveryLog({ maxBytes: 1e9, keepMs: 60_000 })
  for (let n = 1; n <= 6; n++) log.append([0, n, n % 3], event(n % 2 === 0 ? 'a' : 'b', n))
  t.same(log.read([0, 2, 2], [0, 5, 2], new Set(['a'])).map(({ event }) => Number(JSON.parse(event.payloadJson).n)), [4])
  t.same(log.read([0, 0, 0], [0, 9, 0], new Set(['c'])), [], 'a channel without events')
  log.lostThrough([0, 4, 1])
  t.equal(log.complete([0, 3, 0]), false, 'what may have been lost makes earlier positions incomplete')
  t.equal(log.complete([0, 4, 1]), true)
  t.same(log.stats().events, 2)
})
