// One audience per name, against the real server process in production mode: a connection
// refused the bridge's room R cannot read it as Echo's public channel R (with Laravel
// authorizing, that took no token at all). Room R and Echo's private-R are one channel:
// the HTTP API's publishes reach both, a Pusher API event for private-R reaches both, and one for
// the public channel R reaches neither, each subscriber once and in its own format.
import t, { type Test } from 'tap'
import { connectClient, postJson, secrets, socketToken, subscribe, type TestClient } from '../../helpers/bridge.ts'
import { startProductionBridge } from '../../helpers/production-bridge.ts'
import { answerTo, connectEcho, type EchoClient } from '../../helpers/echo.ts'
import { fakeLaravel, type AuthRequest } from '../../helpers/fake-laravel.ts'
import { pusherEnv, signedPost } from '../../helpers/pusher.ts'

// Two processes compiling TypeScript on a busy machine, and Echo loading.
t.setTimeout(240_000)

const ROOM = 'chat_secret'
const PRIVATE = `private-${ROOM}`
/** What the victim's browser sends to Laravel's /broadcasting/auth (a Sanctum token, say). */
const VICTIM_SESSION = 'victim-session-0123456789'

/** The bridge as its own process in production mode, on 127.0.0.1, killed when the file ends. */
async function productionBridge (env: Record<string, string>): Promise<string> {
  const { url } = await startProductionBridge(t, {
    LOG_LEVEL: 'warn',
    CORS_ORIGINS: 'https://app.example.com',
    ...pusherEnv(),
    ...env
  })
  return url
}

/** Every event a socket receives, as its arguments without socket.io's trailing recovery offset. */
function record (socket: TestClient, argCount: number): Array<[string, ...unknown[]]> {
  const seen: Array<[string, ...unknown[]]> = []
  socket.onAny((event: string, ...args: unknown[]) => { seen.push([event, ...args.slice(0, argCount)]) })
  return seen
}

function socketOfEcho (echo: EchoClient): TestClient {
  return echo.connector.socket as unknown as TestClient
}

/** Resolves true once the socket has received `event`, false if it has not within `ms`. */
function arrival (socket: TestClient, event: string, ms = 10_000): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => { socket.offAny(listener); resolve(false) }, ms)
    function listener (name: string): void {
      if (name !== event) return
      clearTimeout(timer)
      socket.offAny(listener)
      resolve(true)
    }
    socket.onAny(listener)
  })
}

/** Echo's subscribe, sent by hand: 'ok' or the subscription_error status. */
function echoSubscribe (socket: TestClient, channel: string, ms = 10_000): Promise<'ok' | number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { socket.offAny(listener); reject(new Error(`no answer for ${channel} within ${ms} ms`)) }, ms)
    function listener (event: string, name: unknown, status: unknown): void {
      if (name !== channel || (event !== 'subscription_succeeded' && event !== 'subscription_error')) return
      clearTimeout(timer)
      socket.offAny(listener)
      resolve(event === 'subscription_succeeded' ? 'ok' : status as number)
    }
    socket.onAny(listener)
    ;(socket.emit as (event: string, ...args: unknown[]) => void)('subscribe', { channel, auth: { headers: {} } })
  })
}

/** A Pusher HTTP API event (Laravel's `pusher` broadcaster), signed as the SDKs sign it. */
const pusherEvent = (bridge: string, channel: string, name: string, data: unknown) =>
  signedPost(bridge, '/events', JSON.stringify({ name, channel, data: JSON.stringify(data) }))

/**
 * The attack and the rule, on a bridge where `attacker` was refused room R (and, where it
 * tried, Echo's private-R), `member` is in room R, and `echoMember` holds private-R.
 */
async function checkAudiences (t: Test, bridge: string, attacker: TestClient, member: TestClient, echoMember: EchoClient): Promise<void> {
  t.equal(await echoSubscribe(attacker, ROOM), 'ok', 'the public channel of the same name is open to anyone')
  const attackerSeen = record(attacker, 2)
  const memberSeen = record(member, 1)
  const echoSeen = record(socketOfEcho(echoMember), 2)
  const viaEcho = new Promise((resolve) => {
    const timer = setTimeout(() => resolve('nothing'), 10_000)
    echoMember.private(ROOM).listen('.new_message', (data: unknown) => { clearTimeout(timer); resolve(data) })
  })

  const body = { room: ROOM, message: { text: 'the secret' }, uuid: 'secret-1' }
  const published = await postJson(bridge, '/api/sms/new-message', body, { authorization: `Bearer ${secrets.apiToken}` })
  t.equal(published.status, 202, 'section 1 publishes to room R')
  t.same(await viaEcho, body, 'Echo.private(R).listen(".new_message") gets it')

  const memberDone = arrival(member, 'private-news')
  const echoDone = arrival(socketOfEcho(echoMember), 'private-news')
  const attackerDone = arrival(attacker, 'public-done')
  t.equal((await pusherEvent(bridge, ROOM, 'public-news', { to: 'public' })).status, 200, 'a Pusher API event for the public channel R')
  t.equal((await pusherEvent(bridge, PRIVATE, 'private-news', { to: 'private' })).status, 200, 'a Pusher API event for private-R')
  t.equal((await pusherEvent(bridge, ROOM, 'public-done', { to: 'public' })).status, 200)
  t.same(await Promise.all([memberDone, echoDone, attackerDone]), [true, true, true], 'the last events arrived')

  t.same(attackerSeen, [['public-news', ROOM, { to: 'public' }], ['public-done', ROOM, { to: 'public' }]],
    'the public channel\'s subscriber gets the public channel\'s events, nothing of room R')
  t.same(memberSeen, [['new_message', body], ['private-news', { to: 'private' }]],
    'room R: the section 1 publish and the private-R event, once each, as (event, data)')
  t.same(echoSeen, [['new_message', PRIVATE, body], ['private-news', PRIVATE, { to: 'private' }]],
    'Echo\'s private-R: the same two, once each, as (event, channel, data)')
}

t.test('tokens mode: refused room R, a connection gets nothing of it through Echo\'s public channel R', async (t) => {
  const bridge = await productionBridge({})
  const attacker = await connectClient(t, bridge, { auth: { token: socketToken({ sub: 'mallory', rooms: ['chat_lobby'] }) } })
  t.match(await subscribe(attacker, ROOM), { ok: false, error: { code: 'FORBIDDEN' } }, 'section 3 refuses room R')
  t.equal(await echoSubscribe(attacker, PRIVATE), 403, 'and Echo refuses private-R')
  const member = await connectClient(t, bridge, { auth: { token: socketToken({ sub: 'ann', rooms: [ROOM] }) } })
  t.same(await subscribe(member, ROOM), { ok: true, room: ROOM })
  const echoMember = await connectEcho(t, bridge, { bearerToken: socketToken({ sub: 'bob', rooms: [PRIVATE] }) })
  echoMember.private(ROOM)
  t.equal(await answerTo(echoMember, PRIVATE), 'ok')
  await checkAudiences(t, bridge, attacker, member, echoMember)
})

t.test('Laravel authorizes: an anonymous connection gets nothing of room R through Echo\'s public channel R', async (t) => {
  const laravel = await fakeLaravel(t)
  // Laravel's routes/channels.php: private-R for the victim only.
  laravel.answer = (request: AuthRequest) => request.form.channel_name === PRIVATE && request.headers.authorization === `Bearer ${VICTIM_SESSION}`
    ? { status: 200, body: 'true' }
    : { status: 403, body: '' }
  const bridge = await productionBridge({ BRIDGE_AUTH_ENDPOINT: laravel.url })
  const attacker = await connectClient(t, bridge)
  t.match(await subscribe(attacker, ROOM), { ok: false, error: { code: 'FORBIDDEN' } }, 'section 3 refuses room R without a token')
  t.equal(await echoSubscribe(attacker, PRIVATE), 403, 'Laravel refuses private-R')
  const member = await connectClient(t, bridge, { auth: { token: socketToken({ sub: 'ann', rooms: [ROOM] }) } })
  t.same(await subscribe(member, ROOM), { ok: true, room: ROOM })
  const echoMember = await connectEcho(t, bridge, { bearerToken: VICTIM_SESSION })
  echoMember.private(ROOM)
  t.equal(await answerTo(echoMember, PRIVATE), 'ok', 'Laravel allows the victim private-R')
  await checkAudiences(t, bridge, attacker, member, echoMember)
})
