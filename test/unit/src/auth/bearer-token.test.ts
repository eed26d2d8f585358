import t from 'tap'
import { bearerToken, tokenMatcher } from '../../../../src/auth/bearer-token.ts'

t.test('the token of an Authorization header', async (t) => {
  t.equal(bearerToken('Bearer abc'), 'abc')
  t.equal(bearerToken('bearer abc'), 'abc', 'the scheme is case-insensitive')
  for (const header of [undefined, '', 'Bearer', 'Bearer ', 'Basic abc', 'abc', 'Bearer a b']) {
    t.equal(bearerToken(header), undefined, String(header))
  }
})

t.test('every configured token is accepted, nothing else', async (t) => {
  const accepted = tokenMatcher(['old-token', 'new-token'])
  t.ok(accepted('old-token'))
  t.ok(accepted('new-token'))
  for (const other of ['', 'old', 'old-token ', 'old-tokenx', 'OLD-TOKEN', 'old-tokennew-token']) t.notOk(accepted(other), other)
  t.notOk(tokenMatcher([])('anything'), 'no token configured: nothing matches')
})
