// The token bucket behind every per-connection limit: bursts up to the limit, refills with time,
// and costs an idle connection no closure of its own.
import t from 'tap'
import { createConnectionRateLimit, createRateLimiter } from '../../../../src/sockets/rate-limiter.ts'

t.test('a burst of the limit passes, the next call waits for the bucket to refill', async (t) => {
  let now = 1000
  const limiter = createRateLimiter(3, () => now)
  t.same([limiter.take(), limiter.take(), limiter.take(), limiter.take()], [true, true, true, false])
  now += 300
  t.equal(limiter.take(), false, 'less than one token back after 0.3 s at 3 a second')
  now += 100
  t.equal(limiter.take(), true, 'one token back after 0.4 s')
  now += 60_000
  t.same([limiter.take(), limiter.take(), limiter.take(), limiter.take()], [true, true, true, false], 'never more than the limit saved up')
})

t.test('each connection has its own bucket', async (t) => {
  const limit = createConnectionRateLimit<object>(1, () => 0)
  const a = {}
  const b = {}
  t.same([limit.take(a), limit.take(a), limit.take(b)], [true, false, true])
})

t.test('buckets share one take function: an idle connection holds two numbers, not a closure', async (t) => {
  t.equal(createRateLimiter(5).take, createRateLimiter(5).take)
})
