// Hostile presence members against the real server process in production mode, with Laravel
// (a recording stand-in) authorizing channels: a member that stops reading and keeps sending
// `subscribe`, sockets that only receive acks or member lists without reading them, and a user
// flapping in and out of a channel. The process stays under a memory bound, slow readers are
// cut at BRIDGE_MAX_BUFFERED_BYTES whatever they are sent, and the other members are not
// flooded: joinings and leavings are announced at most once a second per user.
import { setTimeout as pace } from 'node:timers/promises'
import t, { type Test } from 'tap'
import type { Socket } from 'socket.io-client'
import {
  connectClient, metricValue, nextEvent, postJson, secrets, socketToken, subscribe, type TestClient
} from '../../helpers/bridge.ts'
import { startProductionBridge } from '../../helpers/production-bridge.ts'
import { answerTo, connectEcho, emitRaw, nextOn, recordAll, socketOf, type EchoClient } from '../../helpers/echo.ts'
import { fakeLaravel } from '../../helpers/fake-laravel.ts'

// A process compiling TypeScript on a busy machine, and many Echo clients.
t.setTimeout(300_000)

/** Resident memory the bridge may reach during these attacks. */
const MAX_RSS_BYTES = 512 * 1024 * 1024
/** Each member's `user_info` in the big channel: member lists of several hundred KB. */
const BIG_INFO_BYTES = 60 * 1024
const BIG_MEMBERS = 10

const laravel = await fakeLaravel(t)
/** Laravel's answer: the user named by the `user` cookie; users named `big-…` carry a large `user_info`. */
laravel.answer = ({ form, headers }) => {
  const user = /(?:^|; )user=([\w-]+)/.exec(String(headers.cookie))?.[1]
  if (user === undefined) return { status: 403, body: '' }
  if (form.channel_name?.startsWith('presence-') !== true) return { status: 200, body: 'true' }
  const info = user.startsWith('big-') ? { name: user, bio: 'x'.repeat(BIG_INFO_BYTES) } : { name: user }
  return { status: 200, body: JSON.stringify({ channel_data: { user_id: user, user_info: info } }) }
}

const { url, server } = await startProductionBridge(t, {
  LOG_LEVEL: 'warn',
  CORS_ORIGINS: 'https://app.example.com',
  BRIDGE_AUTH_ENDPOINT: laravel.url
})

const publisher = { authorization: `Bearer ${secrets.apiToken}` }

async function metric (sample: string): Promise<number> {
  return metricValue(await (await fetch(`${url}/metrics`)).text(), sample)
}

/** An Echo client of the user (Laravel knows them by the `user` cookie). */
function member (t: Test, user: string): Promise<EchoClient> {
  return connectEcho(t, url, { extraHeaders: { cookie: `user=${user}` } })
}

/** Joins the presence channel and resolves with the member list the bridge sends. */
async function join (echo: EchoClient, name: string): Promise<unknown[]> {
  const members = nextOn(echo, 'presence:subscribed', `presence-${name}`)
  echo.join(name)
  return await members as unknown[]
}

/** The client's TCP socket under its websocket: paused, it reads nothing more. */
function tcpOf (socket: Socket): { pause: () => void, resume: () => void } {
  return (socket.io.engine.transport as unknown as { ws: { _socket: { pause: () => void, resume: () => void } } }).ws._socket
}

/** The process is alive, under its memory bound, and a bystander still receives what is published. */
async function stillServing (t: Test, what: string): Promise<void> {
  t.equal(server.child.exitCode, null, `${what}: the process lives`)
  const rss = await metric('process_resident_memory_bytes')
  t.ok(rss > 0 && rss < MAX_RSS_BYTES, `${what}: RSS ${Math.round(rss / 2 ** 20)} MiB is under ${MAX_RSS_BYTES / 2 ** 20} MiB`)
  const bystander = await connectClient(t, url, { auth: { token: socketToken({ sub: 'bystander', rooms: ['chat_*'] }) } })
  t.same(await subscribe(bystander, 'chat_1'), { ok: true, room: 'chat_1' })
  const text = `after ${what}`
  const arrived = nextEvent(bystander, 'new_message')
  t.equal((await postJson(url, '/api/sms/new-message', { room: 'chat_1', message: { text } }, publisher)).status, 202)
  t.match(await arrived, { room: 'chat_1', message: { text } }, `${what}: the bystander receives it`)
}

/** A presence channel of BIG_MEMBERS users whose member list is several hundred KB. */
async function bigChannel (t: Test, name: string): Promise<void> {
  for (let i = 0; i < BIG_MEMBERS; i++) await join(await member(t, `big-${name}-${i}`), name)
}

t.test('a member that stops reading and keeps sending subscribe gets no second member list', async (t) => {
  await bigChannel(t, 'resend')
  const attacker = await member(t, 'attacker-resend')
  const lists = recordAll(attacker)
  const socket = socketOf(attacker)
  await join(attacker, 'resend')
  tcpOf(socket).pause()
  // Echo's own subscribe, again and again: 20 a second pass the rate limit, the rest get 429.
  const resent = 120
  for (let i = 0; i < resent; i++) {
    emitRaw(attacker, 'subscribe', { channel: 'presence-resend', auth: { headers: {} } })
    if (i % 10 === 9) await pace(100)
  }
  const rssDuring = await metric('process_resident_memory_bytes')
  tcpOf(socket).resume()
  const answers: Array<'ok' | number> = []
  for (let i = 0; i < resent; i++) answers.push(await answerTo(attacker, 'presence-resend', 30_000))
  t.ok(answers.every((answer) => answer === 'ok' || answer === 429), 'every subscribe is answered: subscription_succeeded, or 429 past the rate')
  t.ok(answers.filter((answer) => answer === 'ok').length >= 20, 'the ones within the rate are accepted')
  const received = lists.filter(({ event, args }) => event === 'presence:subscribed' && args[0] === 'presence-resend')
  t.equal(received.length, 1, 'one member list: the first subscribe\'s')
  t.equal(laravel.requests.filter(({ headers }) => headers.cookie === 'user=attacker-resend').length, 1, 'Laravel was asked once')
  t.ok(rssDuring < MAX_RSS_BYTES, `RSS ${Math.round(rssDuring / 2 ** 20)} MiB while it was not reading`)
  await stillServing(t, 'the subscribe re-sends')
})

t.test('a re-subscribe (Laravel mode) asks Laravel nothing and sends only subscription_succeeded', async (t) => {
  const ann = await member(t, 'ann')
  const seen = recordAll(ann)
  await join(ann, 'lobby')
  ann.private('chat.1')
  t.equal(await answerTo(ann, 'private-chat.1'), 'ok')
  const asked = laravel.requests.length
  for (const channel of ['presence-lobby', 'private-chat.1']) {
    emitRaw(ann, 'subscribe', { channel, auth: { headers: {} } })
    t.equal(await answerTo(ann, channel), 'ok', `${channel}: subscription_succeeded again`)
  }
  t.equal(laravel.requests.length, asked, 'Laravel was not asked again')
  t.equal(seen.filter(({ event }) => event === 'presence:subscribed').length, 1, 'no second member list')
})

t.test('member lists count toward BRIDGE_MAX_BUFFERED_BYTES: a member that does not read them is cut', async (t) => {
  await bigChannel(t, 'lists')
  const before = await metric('bridge_slow_sockets_disconnected_total')
  const attacker = await member(t, 'attacker-lists')
  const socket = socketOf(attacker)
  tcpOf(socket).pause()
  // Leave and join again, within the rate limit: each join is a new member list of ~600 KB.
  let rounds = 0
  while (await metric('bridge_slow_sockets_disconnected_total') === before && rounds < 300) {
    rounds += 1
    emitRaw(attacker, 'subscribe', { channel: 'presence-lists', auth: { headers: {} } })
    emitRaw(attacker, 'unsubscribe', { channel: 'presence-lists' })
    await pace(120)
  }
  t.equal(await metric('bridge_slow_sockets_disconnected_total'), before + 1, `cut after ${rounds} member lists it did not read`)
  tcpOf(socket).resume()
  await stillServing(t, 'unread member lists')
})

t.test('acks count toward BRIDGE_MAX_BUFFERED_BYTES: a socket that sends and never reads is cut', async (t) => {
  const before = await metric('bridge_slow_sockets_disconnected_total')
  const attacker: TestClient = await connectClient(t, url, { auth: { token: socketToken({ sub: 'attacker-acks', rooms: ['chat_*'] }) } })
  tcpOf(attacker as unknown as Socket).pause()
  const engine = attacker.io.engine
  // Raw socket.io packets with an ack id: each is answered (ok, or RATE_LIMITED past the rate).
  let sent = 0
  while (await metric('bridge_slow_sockets_disconnected_total') === before && sent < 400_000) {
    for (let i = 0; i < 2000; i++) engine.write(`2${sent++}["subscribe",{"room":"chat_${'a'.repeat(100)}"}]`)
    await pace(20)
  }
  t.equal(await metric('bridge_slow_sockets_disconnected_total'), before + 1, `cut after ${sent} acks it did not read`)
  tcpOf(attacker as unknown as Socket).resume()
  await stillServing(t, 'unread acks')
})

/** The presence events a recording holds about `user`, as `joining`/`leaving`. */
function aboutUser (seen: Array<{ event: string, args: unknown[] }>, user: string): string[] {
  return seen
    .filter(({ event, args }) => event.startsWith('presence:') && (args[1] as { user_id?: unknown } | undefined)?.user_id === user)
    .map(({ event }) => event.slice('presence:'.length))
}

t.test('a join and a leave within a second are announced to nobody', async (t) => {
  const watcher = await member(t, 'watcher-quick')
  await join(watcher, 'quick')
  const seen = recordAll(watcher)
  const flapper = await member(t, 'flapper-quick')
  await join(flapper, 'quick')
  flapper.leave('quick')
  // A user who joins after: the watcher hears of them once their own hold is over, so by then
  // the flapper's hold, started earlier, is over too.
  const marker = await member(t, 'marker-quick')
  const markerJoined = nextOn(watcher, 'presence:joining', 'presence-quick')
  await join(marker, 'quick')
  t.match(await markerJoined, { user_id: 'marker-quick' })
  t.same(aboutUser(seen, 'flapper-quick'), [], 'no joining, no leaving')
})

t.test('a user flapping in and out of a channel is announced at most about once a second', async (t) => {
  const watcher = await member(t, 'watcher-flap')
  await join(watcher, 'flap')
  const seen = recordAll(watcher)
  const flapper = await member(t, 'flapper-flap')
  const started = performance.now()
  const flaps = 30
  for (let i = 0; i < flaps; i++) {
    // In and out for about as long: two calls a round, under BRIDGE_MAX_SUBSCRIBES_PER_SECOND.
    await join(flapper, 'flap')
    await pace(100)
    flapper.leave('flap')
    await pace(100)
  }
  const marker = await member(t, 'marker-flap')
  const markerJoined = nextOn(watcher, 'presence:joining', 'presence-flap')
  await join(marker, 'flap')
  await markerJoined
  const seconds = (performance.now() - started) / 1000
  const events = aboutUser(seen, 'flapper-flap')
  t.ok(events.length <= Math.ceil(seconds) + 1, `${flaps} joins and leaves in ${seconds.toFixed(1)} s: ${events.length} announcements`)
  t.same(events, events.map((_, i) => i % 2 === 0 ? 'joining' : 'leaving'), 'joining and leaving alternate')
  t.equal(events.length % 2, 0, 'and end with the flapper gone, as it is')
  t.same(await join(await member(t, 'late-flap'), 'flap').then((list) => list.map((entry) => (entry as { user_id: string }).user_id).sort()),
    ['late-flap', 'marker-flap', 'watcher-flap'], 'a member list shows the current members')
})
