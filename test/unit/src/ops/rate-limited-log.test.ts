// Rate-limited log lines (src/ops/rate-limited-log.ts) on a clock the test moves.
import t from 'tap'
import { createRateLimitedLog } from '../../../../src/ops/rate-limited-log.ts'

t.test('one line per interval and kind; the next line written says how many were left out', async (t) => {
  let now = 0
  const logRateLimited = createRateLimitedLog(1000, () => now)
  const written: Array<[string, number | undefined]> = []
  const log = (kind: string) => logRateLimited(kind, (notLogged) => { written.push([kind, notLogged]) })

  log('token')
  log('token')
  log('origin')
  now = 999
  log('token')
  t.same(written, [['token', undefined], ['origin', undefined]], 'the first of each kind is written, the others within the interval are not')

  now = 1000
  log('token')
  log('token')
  now = 2500
  log('token')
  log('origin')
  t.same(written.slice(2), [['token', 2], ['token', 1], ['origin', undefined]], 'each next line carries the count left out before it, per kind')
})
