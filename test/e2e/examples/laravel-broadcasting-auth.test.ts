// Laravel's real /broadcasting/auth (Debian's Laravel 8.83, RedisBroadcaster::auth() under
// `php -S`, channel rules as in routes/channels.php) authorizing Laravel Echo's private and
// presence channels on the bridge: a user from a session cookie with its CSRF token, one from a
// bearer token, refusals with Laravel's status, and exactly what the bridge forwarded.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { securedEnv, startBridge } from '../../helpers/bridge.ts'
import { startPhpServer } from '../../helpers/php-server.ts'
import { answerTo, connectEcho, nextOn, socketOf } from '../../helpers/echo.ts'

// Many real bridges and Echo clients (loading Echo itself first): generous on a busy machine.
t.setTimeout(180_000)

const server = fileURLToPath(new URL('../../fixtures/php/broadcasting/server.php', import.meta.url))

function phpMissing (): string | false {
  const probe = spawnSync('php', ['-r', 'exit(is_file("/usr/share/php/Illuminate/Broadcasting/Broadcasters/RedisBroadcaster.php") ? 0 : 3);'])
  if (probe.error !== undefined) return 'php is not installed (apt-get install php-cli php-laravel-framework)'
  if (probe.status !== 0) return 'php-laravel-framework is missing (apt-get install php-laravel-framework)'
  return false
}

const skip = phpMissing()
if (skip !== false) t.comment(`skipping the Laravel broadcasting tests: ${skip}`)

interface LoggedRequest { ip: string, method: string, path: string, headers: Record<string, string>, form: Record<string, string> }

/**
 * Laravel's /broadcasting/auth under `php -S`, stopped when the test ends, and the requests it
 * got; `trustedProxies` are what its TrustProxies middleware trusts.
 */
async function laravelApp (t: Test, trustedProxies: string[] = []): Promise<{ endpoint: string, requests: () => LoggedRequest[] }> {
  const log = join(mkdtempSync(join(tmpdir(), 'broadcasting-auth-')), 'requests.jsonl')
  writeFileSync(log, '')
  const port = await startPhpServer(t, server, { BROADCASTING_AUTH_LOG: log, TRUSTED_PROXIES: trustedProxies.join(',') })
  return {
    endpoint: `http://127.0.0.1:${port}/broadcasting/auth`,
    requests: () => readFileSync(log, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as LoggedRequest)
  }
}

const ann = { user_id: 1, user_info: { id: 1, name: 'Ann' } }
const bob = { user_id: 2, user_info: { id: 2, name: 'Bob' } }

t.test('Laravel authorizes Echo\'s channels through /broadcasting/auth', { skip }, async (t) => {
  const laravel = await laravelApp(t)
  const { url } = await startBridge(t, securedEnv({ BRIDGE_AUTH_ENDPOINT: laravel.endpoint }))

  // Ann is logged in by her session cookie; Echo reads the CSRF token from the page.
  const annEcho = await connectEcho(t, url, {
    csrfToken: 'csrf-of-ann',
    extraHeaders: { cookie: 'laravel_session=session-of-ann', 'x-handshake-only': 'not-for-laravel' }
  })
  // Bob uses an API token (Sanctum): Echo's bearerToken.
  const bobEcho = await connectEcho(t, url, { bearerToken: 'api-token-of-bob' })
  const anonymous = await connectEcho(t, url)

  annEcho.private('chat.1')
  annEcho.private('chat.2')
  t.equal(await answerTo(annEcho, 'private-chat.1'), 'ok', 'Ann is a member of chat 1')
  t.equal(await answerTo(annEcho, 'private-chat.2'), 403, 'but not of chat 2: Laravel\'s 403')
  bobEcho.private('chat.2')
  t.equal(await answerTo(bobEcho, 'private-chat.2'), 'ok', 'Bob, by his bearer token, is in chat 2')
  anonymous.private('chat.1')
  t.equal(await answerTo(anonymous, 'private-chat.1'), 403, 'nobody logged in: 403')

  const annHere = new Promise((resolve) => annEcho.join('room.1').here(resolve))
  t.same(await annHere, [ann.user_info], 'here(): the user_info channels.php returned')
  const joining = new Promise((resolve) => annEcho.join('room.1').joining(resolve))
  const bobMembers = nextOn(bobEcho, 'presence:subscribed', 'presence-room.1')
  bobEcho.join('room.1')
  t.same(await joining, bob.user_info, 'Ann sees Bob join')
  t.same(await bobMembers, [ann, bob], 'Bob gets every member, with Laravel\'s integer user ids')
  annEcho.join('room.closed')
  t.equal(await answerTo(annEcho, 'presence-room.closed'), 403, 'a channel callback returning false')

  const typing = new Promise((resolve) => bobEcho.join('room.1').listenForWhisper('typing', resolve))
  annEcho.join('room.1').whisper('typing', { name: 'Ann' })
  t.same(await typing, { name: 'Ann' }, 'whispers between users Laravel authorized')

  // What Laravel received for Ann's first subscription: the form, her cookie and CSRF token,
  // the two headers Laravel needs to answer JSON, and nothing of the browser's otherwise.
  const requests = laravel.requests()
  const first = requests[0] as LoggedRequest
  t.same(first.form, { channel_name: 'private-chat.1', socket_id: socketOf(annEcho).id }, 'channel_name and the Pusher-shaped socket_id')
  t.equal(first.headers.cookie, 'laravel_session=session-of-ann')
  t.equal(first.headers['x-csrf-token'], 'csrf-of-ann')
  t.equal(first.headers['x-requested-with'], 'XMLHttpRequest')
  t.equal(first.headers.accept, 'application/json')
  t.equal(first.headers.authorization, undefined, 'Ann has no bearer token')
  t.notOk(JSON.stringify(requests).includes('not-for-laravel'), 'the handshake\'s other headers are not forwarded')
  const bobsRequest = requests.find(({ form }) => form.channel_name === 'private-chat.2' && form.socket_id === socketOf(bobEcho).id)
  t.equal(bobsRequest?.headers.authorization, 'Bearer api-token-of-bob')
  t.equal(bobsRequest?.headers.cookie, undefined)
  const allowed = ['host', 'connection', 'content-length', 'user-agent', 'accept-language', 'sec-fetch-mode', 'accept-encoding',
    'content-type', 'cookie', 'authorization', 'x-csrf-token', 'x-requested-with', 'accept', 'x-forwarded-for']
  t.same(requests.flatMap(({ headers }) => Object.keys(headers).filter((name) => !allowed.includes(name))), [], 'no other header, ever')
})

t.test('Laravel\'s TrustProxies, trusting the bridge and the proxy in front of it, sees the user\'s address', { skip }, async (t) => {
  // The bridge calls Laravel from 127.0.0.1; browsers reach the bridge through a proxy at 127.0.0.2.
  const laravel = await laravelApp(t, ['127.0.0.1', '127.0.0.2'])
  const { url } = await startBridge(t, securedEnv({ BRIDGE_AUTH_ENDPOINT: laravel.endpoint, BRIDGE_TRUST_PROXY: '127.0.0.2' }))
  const proxied = await connectEcho(t, url, { bearerToken: 'api-token-of-bob', extraHeaders: { 'x-forwarded-for': '203.0.113.7' }, socketOptions: { localAddress: '127.0.0.2' } })
  const direct = await connectEcho(t, url, { bearerToken: 'api-token-of-bob', extraHeaders: { 'x-forwarded-for': '203.0.113.8' } })
  proxied.private('chat.2')
  direct.private('chat.2')
  t.equal(await answerTo(proxied, 'private-chat.2'), 'ok')
  t.equal(await answerTo(direct, 'private-chat.2'), 'ok')
  const ipOf = (echo: typeof direct) => laravel.requests().find(({ form }) => form.socket_id === socketOf(echo).id)?.ip
  t.equal(ipOf(proxied), '203.0.113.7', 'the address the proxy forwarded')
  t.equal(ipOf(direct), '127.0.0.1', 'a client that is not a proxy cannot pick its address')
})

t.test('a session without its CSRF token gets Laravel\'s 419', { skip }, async (t) => {
  const laravel = await laravelApp(t)
  const { url } = await startBridge(t, securedEnv({ BRIDGE_AUTH_ENDPOINT: laravel.endpoint }))
  const echo = await connectEcho(t, url, { extraHeaders: { cookie: 'laravel_session=session-of-ann' } })
  echo.private('chat.1')
  t.equal(await answerTo(echo, 'private-chat.1'), 419)
})
