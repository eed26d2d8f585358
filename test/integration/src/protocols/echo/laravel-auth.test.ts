// Authorization by Laravel (BRIDGE_AUTH_ENDPOINT): what the bridge sends to /broadcasting/auth
// and nothing more, how it reads every kind of answer, and what the client gets on refusal,
// error, timeout or an endpoint that is down. Laravel here is a recording stand-in;
// test/e2e/examples/laravel-broadcasting-auth.test.ts runs the real one.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { pusherChannelAuth } from '../../../../../src/protocols/echo/authorization/channel-auth-signature.ts'
import {
  captureLogs,
  connectClient,
  freePort,
  refusedConnection,
  securedEnv,
  socketToken,
  startBridge,
  subscribe
} from '../../../../helpers/bridge.ts'
import { answerTo, connectEcho, nextOn, socketOf } from '../../../../helpers/echo.ts'
import { fakeLaravel } from '../../../../helpers/fake-laravel.ts'

// Many real bridges and Echo clients (loading Echo itself first): generous on a busy machine.
t.setTimeout(180_000)

/** A bridge whose Echo channels Laravel (the stand-in) authorizes, with a JWT secret for rooms. */
async function laravelBridge (t: Test, env: Record<string, string> = {}) {
  const laravel = await fakeLaravel(t)
  const logs = captureLogs()
  const bridge = await startBridge(t, securedEnv({ BRIDGE_AUTH_ENDPOINT: laravel.url, LOG_LEVEL: 'debug', ...env }), { logStream: logs.stream })
  return { ...bridge, laravel, logs }
}

const COOKIE = 'laravel_session=session-of-ann; XSRF-TOKEN=xsrf'

t.test('the bridge POSTs channel_name and socket_id with the cookie, Authorization, X-CSRF-TOKEN and the client\'s address, and nothing else', async (t) => {
  const { url, laravel, logs } = await laravelBridge(t)
  const echo = await connectEcho(t, url, {
    bearerToken: 'sanctum-token-of-ann',
    csrfToken: 'csrf-of-ann',
    extraHeaders: { cookie: COOKIE, 'x-forwarded-for': '10.0.0.1', 'x-client-secret': 'handshake-only' }
  })
  // Echo's auth.headers carry one more header the bridge must not pass on.
  ;(echo.options.auth as { headers: Record<string, string> }).headers['X-Other'] = 'not-for-laravel'
  echo.private('chat.1')
  t.equal(await answerTo(echo, 'private-chat.1'), 'ok')

  t.equal(laravel.requests.length, 1)
  const [request] = laravel.requests
  t.equal(request?.method, 'POST')
  t.equal(request?.url, '/broadcasting/auth')
  t.same(request?.form, { channel_name: 'private-chat.1', socket_id: socketOf(echo).id }, 'the form fields, with the Pusher-shaped socket id')
  t.match(request?.form.socket_id, /^\d+\.\d+$/)
  const headers = request?.headers ?? {}
  t.match(headers['content-type'], /^application\/x-www-form-urlencoded/)
  t.equal(headers.cookie, COOKIE, 'the handshake\'s Cookie header')
  t.equal(headers.authorization, 'Bearer sanctum-token-of-ann', 'Authorization from the subscription\'s auth.headers')
  t.equal(headers['x-csrf-token'], 'csrf-of-ann')
  t.equal(headers['x-requested-with'], 'XMLHttpRequest')
  t.equal(headers.accept, 'application/json')
  t.equal(headers['x-forwarded-for'], '127.0.0.1', 'the client\'s address, not the one it claimed')
  // Whatever else arrives is the HTTP client's own, never something the browser sent.
  const own = ['host', 'connection', 'content-length', 'user-agent', 'accept-language', 'sec-fetch-mode', 'accept-encoding']
  const forwarded = ['content-type', 'cookie', 'authorization', 'x-csrf-token', 'x-requested-with', 'accept', 'x-forwarded-for']
  t.same(Object.keys(headers).filter((name) => !own.includes(name) && !forwarded.includes(name)), [], 'no other header')
  const raw = JSON.stringify(headers)
  for (const value of ['10.0.0.1', 'handshake-only', 'not-for-laravel']) t.notOk(raw.includes(value), `${value} is not forwarded`)

  const all = JSON.stringify(logs.lines)
  for (const secret of ['session-of-ann', 'sanctum-token-of-ann', 'csrf-of-ann']) t.notOk(all.includes(secret), `${secret} is never logged`)
})

t.test('only a 200 allows: a private channel takes true (as text/html) or an object, a presence one channel_data', async (t) => {
  const { url, laravel } = await laravelBridge(t)
  laravel.answer = ({ form }) => {
    switch (form.channel_name) {
      case 'private-html': return { status: 200, body: 'true' }
      case 'private-object': return { status: 200, body: '{"auth":"ignored without a Pusher secret"}', contentType: 'application/json' }
      case 'presence-string': return { status: 200, body: JSON.stringify({ channel_data: JSON.stringify({ user_id: '1', user_info: { name: 'Ann' } }) }) }
      case 'presence-object': return { status: 200, body: JSON.stringify({ channel_data: { user_id: 1, user_info: { name: 'Ann' } } }) }
      case 'presence-no-info': return { status: 200, body: JSON.stringify({ channel_data: { user_id: 7 } }) }
      default: return { status: 403, body: '' }
    }
  }
  const echo = await connectEcho(t, url)
  echo.private('html')
  echo.private('object')
  t.equal(await answerTo(echo, 'private-html'), 'ok')
  t.equal(await answerTo(echo, 'private-object'), 'ok')
  const fromString = nextOn(echo, 'presence:subscribed', 'presence-string')
  echo.join('string')
  t.same(await fromString, [{ user_id: '1', user_info: { name: 'Ann' } }], 'channel_data as a JSON string')
  const fromObject = nextOn(echo, 'presence:subscribed', 'presence-object')
  echo.join('object')
  t.same(await fromObject, [{ user_id: 1, user_info: { name: 'Ann' } }], 'channel_data as an object (Laravel\'s redis driver)')
  const noInfo = nextOn(echo, 'presence:subscribed', 'presence-no-info')
  echo.join('no-info')
  t.same(await noInfo, [{ user_id: 7 }], 'user_info is optional')
})

t.test('user ids compare as strings: "1" (pusher driver) and 1 (redis driver) are one member', async (t) => {
  const { url, laravel } = await laravelBridge(t)
  let n = 0
  laravel.answer = () => ({ status: 200, body: JSON.stringify({ channel_data: { user_id: n++ === 0 ? 1 : '1', user_info: { name: 'Ann' } } }) })
  const tab1 = await connectEcho(t, url)
  const tab2 = await connectEcho(t, url)
  const first = nextOn(tab1, 'presence:subscribed', 'presence-room')
  tab1.join('room')
  await first
  const second = nextOn(tab2, 'presence:subscribed', 'presence-room')
  tab2.join('room')
  t.same(await second, [{ user_id: 1, user_info: { name: 'Ann' } }], 'one member')
})

t.test('refusals carry Laravel\'s status; a broken answer is 502; the socket and others stay connected', async (t) => {
  const { url, laravel } = await laravelBridge(t)
  const answers: Record<string, { status: number, body: string }> = {
    'private-403': { status: 403, body: '' },
    'private-401': { status: 401, body: '{"message":"Unauthenticated."}' },
    'private-419': { status: 419, body: '{"message":"CSRF token mismatch."}' },
    'private-500': { status: 500, body: '<html>Server Error</html>' },
    'private-302': { status: 302, body: '' },
    'private-garbage': { status: 200, body: '<html>not json' },
    'private-false': { status: 200, body: 'false' },
    'private-array': { status: 200, body: '[1,2]' },
    'presence-true': { status: 200, body: 'true' },
    'presence-no-user': { status: 200, body: '{"channel_data":{"user_info":{}}}' },
    'presence-bad-string': { status: 200, body: '{"channel_data":"{not json"}' },
    'presence-null-user': { status: 200, body: '{"channel_data":{"user_id":null}}' },
    'presence-huge': { status: 200, body: JSON.stringify({ channel_data: { user_id: 1, user_info: 'x'.repeat(100_000) } }) }
  }
  laravel.answer = ({ form }) => answers[form.channel_name ?? ''] ?? { status: 200, body: 'true' }
  const expected: Record<string, number> = {
    'private-403': 403,
    'private-401': 401,
    'private-419': 419,
    'private-500': 500,
    'private-302': 302,
    'private-garbage': 502,
    'private-false': 502,
    'private-array': 502,
    'presence-true': 502,
    'presence-no-user': 502,
    'presence-bad-string': 502,
    'presence-null-user': 502,
    'presence-huge': 502
  }
  const bystander = await connectEcho(t, url)
  bystander.channel('lobby')
  t.equal(await answerTo(bystander, 'lobby'), 'ok')
  const echo = await connectEcho(t, url)
  for (const channel of Object.keys(expected)) {
    if (channel.startsWith('presence-')) echo.join(channel.slice('presence-'.length))
    else echo.private(channel.slice('private-'.length))
  }
  for (const [channel, status] of Object.entries(expected)) t.equal(await answerTo(echo, channel), status, channel)
  t.ok(socketOf(echo).connected && socketOf(bystander).connected, 'nobody was disconnected')
  echo.private('fine')
  t.equal(await answerTo(echo, 'private-fine'), 'ok', 'the socket still subscribes')
})

t.test('a Pusher auth signature in the answer is checked when the Pusher secret is set', async (t) => {
  const pusher = { appId: '1', key: 'app-key', secret: 'app-secret-0123456789abcdef0123456789abcdef' }
  const { url, laravel } = await laravelBridge(t, { BRIDGE_PUSHER_APP_ID: pusher.appId, BRIDGE_PUSHER_KEY: pusher.key, BRIDGE_PUSHER_SECRET: pusher.secret })
  laravel.answer = ({ form }) => {
    const socketId = form.socket_id ?? ''
    const channel = form.channel_name ?? ''
    const channelData = JSON.stringify({ user_id: '5', user_info: { name: 'Eve' } })
    switch (channel) {
      case 'private-signed': return { status: 200, body: JSON.stringify({ auth: pusherChannelAuth(pusher, socketId, channel) }) }
      case 'private-wrong': return { status: 200, body: JSON.stringify({ auth: pusherChannelAuth({ ...pusher, secret: 'other' }, socketId, channel) }) }
      case 'private-other-socket': return { status: 200, body: JSON.stringify({ auth: pusherChannelAuth(pusher, '1.2', channel) }) }
      case 'presence-signed': return { status: 200, body: JSON.stringify({ auth: pusherChannelAuth(pusher, socketId, channel, channelData), channel_data: channelData }) }
      case 'presence-tampered': return { status: 200, body: JSON.stringify({ auth: pusherChannelAuth(pusher, socketId, channel, channelData), channel_data: channelData.replace('5', '6') }) }
      default: return { status: 200, body: 'true' }
    }
  }
  const echo = await connectEcho(t, url)
  echo.private('signed')
  echo.private('wrong')
  echo.private('other-socket')
  echo.private('unsigned')
  echo.join('signed')
  echo.join('tampered')
  t.equal(await answerTo(echo, 'private-signed'), 'ok')
  t.equal(await answerTo(echo, 'private-wrong'), 403, 'signed with another secret')
  t.equal(await answerTo(echo, 'private-other-socket'), 403, 'signed for another socket')
  t.equal(await answerTo(echo, 'private-unsigned'), 'ok', 'an answer without auth (Laravel\'s redis driver) is not checked')
  t.equal(await answerTo(echo, 'presence-signed'), 'ok')
  t.equal(await answerTo(echo, 'presence-tampered'), 403, 'channel_data changed after signing')
})

t.test('Laravel too slow: 504 after BRIDGE_AUTH_TIMEOUT; down: 502, logged once until it answers again', async (t) => {
  const { url, laravel, logs } = await laravelBridge(t, { BRIDGE_AUTH_TIMEOUT: '300' })
  let mode: 'hang' | 'ok' = 'hang'
  laravel.answer = () => mode === 'ok' ? { status: 200, body: 'true' } : () => { /* never answers */ }
  const echo = await connectEcho(t, url)
  echo.private('slow.1')
  echo.private('slow.2')
  t.equal(await answerTo(echo, 'private-slow.1'), 504)
  t.equal(await answerTo(echo, 'private-slow.2'), 504)
  const warnings = logs.lines.filter((line) => String(line.msg).startsWith('Laravel authorization endpoint failing'))
  t.equal(warnings.length, 1, 'one warning for two failures')
  t.match(warnings[0], { level: 40, status: 504 })

  mode = 'ok'
  echo.private('fine')
  t.equal(await answerTo(echo, 'private-fine'), 'ok')
  t.match(await logs.line('Laravel authorization endpoint answering again'), { level: 30 })
})

t.test('an endpoint nobody listens on answers 502', async (t) => {
  const port = await freePort()
  const logs = captureLogs()
  const { url } = await startBridge(t, securedEnv({ BRIDGE_AUTH_ENDPOINT: `http://127.0.0.1:${port}/broadcasting/auth`, LOG_LEVEL: 'info' }), { logStream: logs.stream })
  const echo = await connectEcho(t, url)
  echo.private('a')
  echo.join('b')
  t.equal(await answerTo(echo, 'private-a'), 502)
  t.equal(await answerTo(echo, 'presence-b'), 502)
  const warnings = logs.lines.filter((line) => String(line.msg).startsWith('Laravel authorization endpoint failing'))
  t.equal(warnings.length, 1)
  t.match(warnings[0], { status: 502, reason: /ECONNREFUSED/ })
})

t.test('TLS is checked: an endpoint with a self-signed certificate answers 502', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bridge-tls-'))
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'),
    '-out', join(dir, 'cert.pem'), '-subj', '/CN=127.0.0.1', '-days', '1'], { stdio: 'ignore' })
  if (made.error !== undefined || made.status !== 0) {
    t.comment('openssl is not installed: no certificate to test with')
    return
  }
  let asked = 0
  const server = createHttpsServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (_request, response) => {
    asked += 1
    response.end('true')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.close() })
  const { port } = server.address() as AddressInfo
  const { url } = await startBridge(t, securedEnv({ BRIDGE_AUTH_ENDPOINT: `https://127.0.0.1:${port}/broadcasting/auth` }))
  const echo = await connectEcho(t, url)
  echo.private('tls')
  t.equal(await answerTo(echo, 'private-tls'), 502)
  t.equal(asked, 0, 'nothing reached the endpoint: the certificate was refused first')
})

t.test('connections may be anonymous; a present bad token is refused; section 3 rooms still need a JWT', async (t) => {
  const { url, laravel } = await laravelBridge(t)
  const anonymous = await connectEcho(t, url)
  anonymous.channel('lobby')
  anonymous.private('chat.1')
  t.equal(await answerTo(anonymous, 'lobby'), 'ok', 'a public channel')
  t.equal(await answerTo(anonymous, 'private-chat.1'), 'ok', 'a channel Laravel allows')

  const section3 = await connectClient(t, url)
  t.match(await subscribe(section3, 'chat_1'), { ok: false, error: { code: 'FORBIDDEN' } }, 'a room needs a JWT')
  const withJwt = await connectClient(t, url, { auth: { token: socketToken({ sub: 'u1', rooms: ['chat_*'] }) } })
  t.same(await subscribe(withJwt, 'chat_1'), { ok: true, room: 'chat_1' })

  t.equal(await refusedConnection(t, url, { auth: { token: 'not-a-jwt' } }), 'unauthorized', 'auth.token present but invalid')
  t.equal(await refusedConnection(t, url, { auth: { token: socketToken({ sub: 'u1' }, 'another-secret-0123456789abcdef0123') } }), 'unauthorized')

  // Echo's bearerToken is Laravel's (Sanctum): not a bridge JWT, the connection is anonymous and
  // the token goes to Laravel with the subscription.
  const sanctum = await connectEcho(t, url, { bearerToken: '1|laravel-sanctum-token' })
  sanctum.private('chat.2')
  t.equal(await answerTo(sanctum, 'private-chat.2'), 'ok')
  t.equal(laravel.requests.at(-1)?.headers.authorization, 'Bearer 1|laravel-sanctum-token')
  const jwtBearer = await connectClient(t, url, { auth: { headers: { Authorization: `Bearer ${socketToken({ sub: 'u2', rooms: ['chat_*'] })}` } } })
  t.same(await subscribe(jwtBearer, 'chat_2'), { ok: true, room: 'chat_2' }, 'a bridge JWT as bearer token still identifies the connection')
})
