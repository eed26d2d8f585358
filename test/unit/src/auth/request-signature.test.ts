import t from 'tap'
import { signatureMatches, signatureOf, timestampProblem } from '../../../../src/auth/request-signature.ts'

// Computed independently (Python's hmac):
// HMAC-SHA256("secret", '1700000000\nPOST\n/api/sms/new-message?x=1\n{"room":"chat_1"}').
const vector = 'sha256=d999c74f57f824d10d774485293701e7a3d8f2c8031cb9535749a037c1a97739'
const request = { timestamp: '1700000000', method: 'POST', url: '/api/sms/new-message?x=1', body: '{"room":"chat_1"}' }

t.test('the signature is HMAC-SHA256 of timestamp, method, path and query, and raw body, joined by newlines, in hex', async (t) => {
  t.equal(signatureOf('secret', request), vector)
  t.equal(signatureOf('secret', { ...request, body: Buffer.from(request.body) }), vector)
  t.equal(signatureOf('secret', { ...request, method: 'post' }), vector, 'the method in upper case')
})

t.test('a signature matches only its secret, timestamp, method, path, query and exact body', async (t) => {
  t.ok(signatureMatches('secret', request, vector))
  t.ok(signatureMatches('secret', request, vector.toUpperCase().replace('SHA256=', 'sha256=')), 'hex in either case')
  t.notOk(signatureMatches('secret2', request, vector), 'another secret')
  t.notOk(signatureMatches('secret', { ...request, timestamp: '1700000001' }, vector), 'another timestamp')
  t.notOk(signatureMatches('secret', { ...request, method: 'GET' }, vector), 'another method')
  t.notOk(signatureMatches('secret', { ...request, url: '/api/sms/delete-message?x=1' }, vector), 'another path')
  t.notOk(signatureMatches('secret', { ...request, url: '/api/sms/new-message?x=2' }, vector), 'another query')
  t.notOk(signatureMatches('secret', { ...request, body: `${request.body} ` }, vector), 'another body')
  t.notOk(signatureMatches('secret', request, vector.slice(7)), 'without sha256=')
  t.notOk(signatureMatches('secret', request, ''), 'empty')
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
