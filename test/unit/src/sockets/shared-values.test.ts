// Handshake values shared between connections: the same characters back, a bounded table, and
// nothing a client chose for itself (cookies, keys, a token in the URL) kept in it.
import t from 'tap'
import { MAX_SHARED_VALUES, shareHeaderValues, sharedHandshakeTime, sharedUrl, sharedValue, sharedValueCount } from '../../../../src/sockets/shared-values.ts'

t.test('header values come back with the same characters; per-connection ones are not kept', async (t) => {
  const before = sharedValueCount()
  const headers = {
    host: 'bridge.example.test',
    'user-agent': 'Mozilla/5.0 (test)',
    cookie: 'laravel_session=secret',
    'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
    'x-forwarded-for': ['1.2.3.4']
  }
  const copy = structuredClone(headers)
  t.equal(shareHeaderValues(headers), headers, 'changed in place')
  t.same(headers, copy, 'every value reads the same')
  t.equal(sharedValueCount() - before, 2, 'host and user-agent are shared; the cookie and the key are not')
})

t.test('a URL is shared only when its query is Engine.IO\'s own', async (t) => {
  const before = sharedValueCount()
  t.equal(sharedUrl('/socket.io/?EIO=4&transport=websocket'), '/socket.io/?EIO=4&transport=websocket')
  t.equal(sharedUrl('/socket.io/?EIO=4&transport=websocket&token=abc'), '/socket.io/?EIO=4&transport=websocket&token=abc')
  t.equal(sharedUrl(undefined), undefined)
  t.equal(sharedValueCount() - before, 1, 'the URL with a token of its own is not kept')
})

t.test('the table stops growing at its bound, and values still come back', async (t) => {
  const changed = []
  for (let i = 0; i < MAX_SHARED_VALUES + 100; i++) if (sharedValue(`agent-${i}`) !== `agent-${i}`) changed.push(i)
  t.same(changed, [], 'every value comes back as it was')
  t.equal(sharedValueCount(), MAX_SHARED_VALUES)
})

t.test('handshake times come back as they were, and take no room in the table', async (t) => {
  const before = sharedValueCount()
  const times = ['Mon Dec 07 2026 11:55:00 GMT+0000 (Coordinated Universal Time)', 'Mon Dec 07 2026 11:55:00 GMT+0000 (Coordinated Universal Time)', 'Mon Dec 07 2026 11:55:01 GMT+0000 (Coordinated Universal Time)']
  t.same(times.map((time) => sharedHandshakeTime(time)), times)
  t.equal(sharedValueCount(), before)
})
