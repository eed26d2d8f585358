// The retry schedule of failed webhook requests.
import t from 'tap'
import { DEFAULT_SCHEDULE, retryDelay } from '../../../../src/webhooks/backoff.ts'

t.test('first retry within 10 s, doubling to a ceiling, retried for at least 5 minutes, then given up', async (t) => {
  const start = 1_000_000
  t.ok((retryDelay(1, start, start) ?? Infinity) <= 10_000, 'the first retry comes within 10 s')
  let at = start
  const delays: number[] = []
  for (let retry = 1; ; retry += 1) {
    const delay = retryDelay(retry, start, at)
    if (delay === undefined) break
    delays.push(delay)
    // Each attempt may itself take up to 5 s before it fails.
    at += delay
  }
  t.ok(at - start >= 5 * 60_000, `retries span at least 5 minutes (${at - start} ms, ${delays.length} retries)`)
  for (let index = 1; index < delays.length; index += 1) {
    t.ok((delays[index] as number) >= (delays[index - 1] as number), 'delays never shrink')
  }
  t.equal(delays[1], 2 * (delays[0] as number), 'they double')
  t.equal(Math.max(...delays), DEFAULT_SCHEDULE.maxDelayMs, 'up to the ceiling')
  t.equal(retryDelay(1, start, start + DEFAULT_SCHEDULE.forMs), undefined, 'past the span: given up')
})
