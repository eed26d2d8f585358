import t from 'tap'
import { signatureMatches, signatureOf, timestampProblem } from '../../../src/auth/request-signature.ts'

// Computed independently (Python's hmac): HMAC-SHA256("secret", '1700000000.{"room":"chat_1"}').
const vector = 'sha256=eae60ce42bc9cea980e74564f2cd51aa7fd4ef5372db46d9e502e86178de8713'

t.test('the signature is HMAC-SHA256 of timestamp + "." + raw body, in hex', async (t) => {
  t.equal(signatureOf('secret', '1700000000', '{"room":"chat_1"}'), vector)
  t.equal(signatureOf('secret', '1700000000', Buffer.from('{"room":"chat_1"}')), vector)
})

t.test('a signature matches only its secret, timestamp and exact body', async (t) => {
  const body = '{"room":"chat_1"}'
  t.ok(signatureMatches('secret', '1700000000', body, vector))
  t.ok(signatureMatches('secret', '1700000000', body, vector.toUpperCase().replace('SHA256=', 'sha256=')), 'hex in either case')
  t.notOk(signatureMatches('secret2', '1700000000', body, vector), 'another secret')
  t.notOk(signatureMatches('secret', '1700000001', body, vector), 'another timestamp')
  t.notOk(signatureMatches('secret', '1700000000', `${body} `, vector), 'another body')
  t.notOk(signatureMatches('secret', '1700000000', body, vector.slice(7)), 'without sha256=')
  t.notOk(signatureMatches('secret', '1700000000', body, ''), 'empty')
})

t.test('the timestamp must be unix seconds within 300 s of the clock', async (t) => {
  const now = 1_700_000_000
  t.equal(timestampProblem(String(now), now), undefined)
  t.equal(timestampProblem(String(now - 300), now), undefined)
  t.equal(timestampProblem(String(now + 300), now), undefined)
  t.match(timestampProblem(String(now - 301), now), /more than 300 s/)
  t.match(timestampProblem(String(now + 301), now), /more than 300 s/)
  t.match(timestampProblem(undefined, now), /required/)
  for (const bad of ['', '-1', '1.5', '1e9', 'now', `${now}000000`]) t.match(timestampProblem(bad, now), /unix seconds/, bad)
})
