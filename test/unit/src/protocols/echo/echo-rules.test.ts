// The plain rules of the Echo side: channel names and kinds, JSON depth, the rate limiter,
// reading Echo's payloads, whisper checks, Pusher signatures and reading Laravel's answers.
import { createHmac } from 'node:crypto'
import t from 'tap'
import { channelKind, validChannelName } from '../../../../../src/channels/names.ts'
import { deeperThan } from '../../../../../src/schemas/json-depth.ts'
import { readAnswer, type LaravelAuthorizationRequest } from '../../../../../src/protocols/echo/authorization/laravel-authorizer.ts'
import { pusherAuthMatches, pusherChannelAuth } from '../../../../../src/protocols/echo/authorization/channel-auth-signature.ts'
import { createConnectionRateLimit, createRateLimiter } from '../../../../../src/sockets/rate-limiter.ts'
import { forwardedHeaders, isEchoRequest, readClientEvent, readSubscribe } from '../../../../../src/protocols/echo/requests.ts'
import { whisperProblem } from '../../../../../src/protocols/echo/whispers.ts'

t.test('channel names and kinds', async (t) => {
  for (const name of ['a', 'chat.1', 'private-chat.1', 'presence-room.1', 'A-Z_a=z@0,9.;:', 'x'.repeat(164)]) t.ok(validChannelName(name), name.slice(0, 20))
  for (const name of ['', 'x'.repeat(165), 'chat 1', 'chat/1', 'chat#1', 'чат', 'a\n', 'a*', 'a"b']) t.notOk(validChannelName(name), JSON.stringify(name.slice(0, 20)))
  t.equal(channelKind('private-chat.1'), 'private')
  t.equal(channelKind('presence-room.1'), 'presence')
  t.equal(channelKind('chat.1'), 'public')
  t.equal(channelKind('privatechat'), 'public')
  t.equal(channelKind('private-encrypted-x'), 'private')
})

t.test('JSON depth: {} is one level; hostile depth is found without recursion', async (t) => {
  t.equal(deeperThan(null, 0), false)
  t.equal(deeperThan('text', 0), false)
  t.equal(deeperThan({}, 1), false)
  t.equal(deeperThan({}, 0), true)
  t.equal(deeperThan({ a: [] }, 2), false)
  t.equal(deeperThan({ a: [] }, 1), true)
  let deep: unknown = {}
  for (let i = 0; i < 31; i++) deep = [deep]
  t.equal(deeperThan(deep, 32), false, '32 levels')
  t.equal(deeperThan([deep], 32), true, '33 levels')
  let hostile: unknown = []
  for (let i = 0; i < 200_000; i++) hostile = [hostile]
  t.equal(deeperThan(hostile, 32), true, '200,000 levels, no stack overflow')
})

t.test('the rate limiter allows a burst of perSecond, then perSecond a second', async (t) => {
  let now = 0
  const limiter = createRateLimiter(3, () => now)
  t.same([limiter.take(), limiter.take(), limiter.take(), limiter.take()], [true, true, true, false])
  now += 334
  t.same([limiter.take(), limiter.take()], [true, false], 'one more after a third of a second')
  now += 10_000
  t.same([limiter.take(), limiter.take(), limiter.take(), limiter.take()], [true, true, true, false], 'an idle time does not save up more than the burst')
})

t.test('a connection rate limit keeps one bucket per connection', async (t) => {
  let now = 0
  const limit = createConnectionRateLimit<object>(2, () => now)
  const first = {}
  const second = {}
  t.same([limit.take(first), limit.take(first), limit.take(first)], [true, true, false])
  t.same([limit.take(second), limit.take(second), limit.take(second)], [true, true, false], 'another connection has its own allowance')
  now += 500
  t.same([limit.take(first), limit.take(first)], [true, false])
})

t.test('Echo payloads: which are Echo\'s, and what is read of them', async (t) => {
  t.equal(isEchoRequest({ channel: 'x' }), true)
  t.equal(isEchoRequest({ channel: undefined }), true, 'channel named, even if not a string: Echo\'s (and ignored)')
  t.equal(isEchoRequest({ room: 'x' }), false)
  for (const payload of [undefined, null, 'x', 1, ['channel'], Object.create({ channel: 'inherited' })]) t.equal(isEchoRequest(payload), false)
  t.same(readSubscribe({ channel: 'x', auth: { headers: { AUTHORIZATION: 'Bearer a', 'x-csrf-token': 'c', Cookie: 'no', 'X-Socket-Id': '1.2' } } }),
    { channel: 'x', headers: { authorization: 'Bearer a', csrfToken: 'c' } }, 'header names in any case; only the two')
  t.same(forwardedHeaders({ headers: { Authorization: 'Bearer a\r\nX-Evil: 1', 'X-CSRF-TOKEN': 'x'.repeat(9000) } }), {}, 'no header injection, no huge values')
  t.same(forwardedHeaders({ headers: { Authorization: ['Bearer a'] } }), {})
  t.equal(readSubscribe({ channel: 5 }), undefined)
  t.same(readClientEvent({ channel: 'c', event: 'client-x' }), { channel: 'c', event: 'client-x', data: null }, 'no data is null')
  t.same(readClientEvent({ channel: 'c' }), { problem: 'invalid' })
})

t.test('whisper rules', async (t) => {
  const ok = { channel: 'private-chat.1', event: 'client-typing', data: { typing: true } }
  t.equal(whisperProblem(ok), undefined)
  t.equal(whisperProblem({ ...ok, channel: 'presence-room.1' }), undefined)
  t.equal(whisperProblem({ ...ok, event: 'typing' }), 'not_client_event')
  t.equal(whisperProblem({ ...ok, event: 'client-' }), 'not_client_event')
  t.equal(whisperProblem({ ...ok, event: 'client-a b' }), 'not_client_event')
  t.equal(whisperProblem({ ...ok, channel: 'chat.1' }), 'not_private')
  t.equal(whisperProblem({ ...ok, channel: 'private-a b' }), 'not_private')
  t.equal(whisperProblem({ ...ok, data: 'é'.repeat(5121) }), 'too_large', 'counted in bytes of encoded JSON')
})

t.test('Pusher channel signatures', async (t) => {
  const app = { appId: '1', key: 'key', secret: 'secret' }
  const expected = `key:${createHmac('sha256', 'secret').update('1234.5678:private-chat.1').digest('hex')}`
  t.equal(pusherChannelAuth(app, '1234.5678', 'private-chat.1'), expected, 'Pusher\'s documented string to sign')
  t.ok(pusherAuthMatches(app, expected, '1234.5678', 'private-chat.1'))
  t.notOk(pusherAuthMatches(app, expected, '1234.5679', 'private-chat.1'))
  t.notOk(pusherAuthMatches(app, `other${expected}`, '1234.5678', 'private-chat.1'))
  const data = '{"user_id":1}'
  t.ok(pusherAuthMatches(app, pusherChannelAuth(app, '1.2', 'presence-x', data), '1.2', 'presence-x', data))
  t.notOk(pusherAuthMatches(app, pusherChannelAuth(app, '1.2', 'presence-x', data), '1.2', 'presence-x'))
})

t.test('reading a 200 answer of Laravel', async (t) => {
  const privateRequest: LaravelAuthorizationRequest = { channel: 'private-a', kind: 'private', socketId: '1.2', headers: {} }
  const presenceRequest: LaravelAuthorizationRequest = { ...privateRequest, channel: 'presence-a', kind: 'presence' }
  t.same(readAnswer('true', privateRequest), { allowed: true })
  t.same(readAnswer(' {"channel_data":{"user_id":1}} ', privateRequest), { allowed: true }, 'a private channel may get an object')
  t.match(readAnswer('', privateRequest), { allowed: false, status: 502 })
  t.match(readAnswer('null', privateRequest), { allowed: false, status: 502 })
  t.same(readAnswer('{"channel_data":{"user_id":"u","user_info":{"a":1}}}', presenceRequest), { allowed: true, member: { user_id: 'u', user_info: { a: 1 } } })
  t.match(readAnswer('{"channel_data":{"user_id":""}}', presenceRequest), { allowed: false, status: 502 })
  t.match(readAnswer('{"channel_data":{"user_id":1.5e400}}', presenceRequest), { allowed: false, status: 502 }, 'Infinity is no user id')
  t.match(readAnswer('{"channel_data":"[1]"}', presenceRequest), { allowed: false, status: 502 })
  let deep = '{}'
  for (let i = 0; i < 32; i++) deep = `{"a":${deep}}`
  t.match(readAnswer(`{"channel_data":{"user_id":1,"user_info":${deep}}}`, presenceRequest), { allowed: false, status: 502 }, 'user_info deeper than 32 levels')
  const app = { appId: '1', key: 'k', secret: 's' }
  t.match(readAnswer('{"auth":42}', privateRequest, app), { allowed: false, status: 403 }, 'an auth that is not a string')
  t.same(readAnswer(JSON.stringify({ auth: pusherChannelAuth(app, '1.2', 'private-a') }), privateRequest, app), { allowed: true })
})
