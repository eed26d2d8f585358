// Calls to Laravel's `/broadcasting/auth` (BRIDGE_AUTH_ENDPOINT) under attack, against the real
// server process in production mode and a stand-in Laravel that holds its answers for as long
// as a test says: anonymous sockets (Laravel mode lets them connect) asking for many private
// channels get Laravel at most BRIDGE_AUTH_CONCURRENCY calls at once and 429 past the bounds,
// while a page and a bystander are served. Each call carries the client's address.
import type { ServerResponse } from 'node:http'
import t, { type Test } from 'tap'
import { CALLS_PER_CONNECTION, WAITING_PER_SLOT } from '../../../plugins/app/echo-authorization.ts'
import {
  connectClient, metricValue, nextEvent, postJson, secrets, socketToken, subscribe, waitFor, type TestClient
} from '../../helpers/bridge.ts'
import { startProductionBridge } from '../../helpers/production-bridge.ts'
import { answerTo, connectEcho, socketOf } from '../../helpers/echo.ts'
import { fakeLaravel, type AuthRequest } from '../../helpers/fake-laravel.ts'

// A process compiling TypeScript on a busy machine, and a few thousand subscriptions.
t.setTimeout(240_000)

const CONCURRENCY = 64
const ATTACKERS = 100
/** Private channels each attacker asks for at once (BRIDGE_MAX_SUBSCRIBES_PER_SECOND's burst). */
const CHANNELS_EACH = 20
/** Resident memory and open files the bridge may reach under the attack (without the bound: 6,000+ files). */
const MAX_RSS_BYTES = 512 * 1024 * 1024
const MAX_OPEN_FDS = ATTACKERS + CONCURRENCY + 300
/** The proxy in front of the bridge: clients reach it from this loopback address. */
const PROXY = '127.0.0.2'

const laravel = await fakeLaravel(t)

/** A call the stand-in has not answered yet. */
interface HeldCall {
  request: AuthRequest
  answer: (status: number, body?: string) => void
}

/**
 * What the stand-in sees: calls open now (received, neither answered nor closed), the most at
 * once, per socket too. `decide` says per call: hold it, or answer at once.
 */
const calls = {
  open: 0,
  peak: 0,
  openBySocket: new Map<string, number>(),
  peakBySocket: new Map<string, number>(),
  held: [] as HeldCall[],
  decide: (_request: AuthRequest): 'hold' | { status: number, body: string } => 'hold',
  watchers: new Set<() => void>(),
  /** Resolves once `condition` holds (checked at every call that opens or ends). */
  until (condition: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (!condition()) return
        calls.watchers.delete(check)
        resolve()
      }
      calls.watchers.add(check)
      check()
    })
  },
  openFor: (socketId: string | undefined): number => calls.openBySocket.get(socketId ?? '') ?? 0,
  peakFor: (socketId: string | undefined): number => calls.peakBySocket.get(socketId ?? '') ?? 0,
  /** The most calls open at once for any one socket. */
  peakPerSocket: (): number => Math.max(0, ...calls.peakBySocket.values()),
  /** Peaks count from now. */
  resetPeaks () {
    calls.peak = calls.open
    calls.peakBySocket = new Map(calls.openBySocket)
  }
}

laravel.answer = () => (request: AuthRequest, response: ServerResponse) => {
  const socketId = request.form.socket_id ?? ''
  calls.open++
  calls.openBySocket.set(socketId, calls.openFor(socketId) + 1)
  calls.peak = Math.max(calls.peak, calls.open)
  calls.peakBySocket.set(socketId, Math.max(calls.peakFor(socketId), calls.openFor(socketId)))
  let ended = false
  // Counted as ended before the answer leaves: the strict view of what is open.
  const end = () => {
    if (ended) return
    ended = true
    calls.open--
    calls.openBySocket.set(socketId, calls.openFor(socketId) - 1)
    for (const watcher of [...calls.watchers]) watcher()
  }
  // Closed by the bridge (the socket went) or answered.
  response.once('close', end)
  const answer = (status: number, body = '') => {
    end()
    if (response.destroyed) return
    response.writeHead(status, { 'content-type': 'text/html; charset=UTF-8' })
    response.end(body)
  }
  const decision = calls.decide(request)
  if (decision === 'hold') calls.held.push({ request, answer })
  else answer(decision.status, decision.body)
  for (const watcher of [...calls.watchers]) watcher()
}

const { url, server } = await startProductionBridge(t, {
  LOG_LEVEL: 'warn',
  CORS_ORIGINS: 'https://app.example.com',
  BRIDGE_AUTH_ENDPOINT: laravel.url,
  BRIDGE_AUTH_CONCURRENCY: String(CONCURRENCY),
  // Nothing here gives up on its own while a test holds Laravel's answers.
  BRIDGE_AUTH_TIMEOUT: '60000',
  BRIDGE_TRUST_PROXY: `${PROXY},10.0.0.0/8`
})

async function metrics (): Promise<string> {
  return await (await fetch(`${url}/metrics`)).text()
}

/** The bridge's gauges of calls in flight, waiting for a slot, and queued behind their connection's share. */
async function bridgeCalls (): Promise<{ inFlight: number, waiting: number, queued: number }> {
  const text = await metrics()
  return {
    inFlight: metricValue(text, 'bridge_auth_endpoint_calls_in_flight'),
    waiting: metricValue(text, 'bridge_auth_endpoint_calls_waiting'),
    queued: metricValue(text, 'bridge_auth_endpoint_calls_queued')
  }
}

/** Anonymous socket.io clients, connected a batch at a time (the pending-connection cap per address). */
async function anonymousSockets (t: Test, count: number): Promise<TestClient[]> {
  const sockets: TestClient[] = []
  while (sockets.length < count) {
    const batch = Math.min(25, count - sockets.length)
    sockets.push(...await Promise.all(Array.from({ length: batch }, () => connectClient(t, url))))
  }
  return sockets
}

/** Echo's `subscribe` as a raw client sends it. */
function subscribeEcho (socket: TestClient, channel: string): void {
  (socket.emit as (event: string, payload: unknown) => void)('subscribe', { channel, auth: { headers: {} } })
}

/** The subscription_error statuses a socket receives from now on. */
function refusalsOf (socket: TestClient): number[] {
  const statuses: number[] = []
  socket.on('subscription_error', (_channel, status) => { statuses.push(status) })
  return statuses
}

async function bystanderOf (t: Test): Promise<TestClient> {
  const bystander = await connectClient(t, url, { auth: { token: socketToken({ sub: 'bystander', rooms: ['chat_*'] }) } })
  t.same(await subscribe(bystander, 'chat_1'), { ok: true, room: 'chat_1' })
  return bystander
}

/** The process is alive, under its bounds, and the bystander still receives what is published. */
async function stillServing (t: Test, bystander: TestClient, what: string): Promise<void> {
  t.equal(server.child.exitCode, null, `${what}: the process lives`)
  t.equal((await fetch(`${url}/health`)).status, 200, `${what}: /health answers`)
  const text = await metrics()
  const rss = metricValue(text, 'process_resident_memory_bytes')
  t.ok(rss > 0 && rss < MAX_RSS_BYTES, `${what}: RSS ${Math.round(rss / 1024 / 1024)} MiB is under ${MAX_RSS_BYTES / 1024 / 1024} MiB`)
  const fds = metricValue(text, 'process_open_fds')
  t.ok(fds > 0 && fds < MAX_OPEN_FDS, `${what}: ${fds} open files, under ${MAX_OPEN_FDS}`)
  const arrived = nextEvent(bystander, 'new_message')
  const answer = await postJson(url, '/api/sms/new-message', { room: 'chat_1', message: { text: what } }, { authorization: `Bearer ${secrets.apiToken}` })
  t.equal(answer.status, 202, `${what}: a publish is accepted`)
  t.match(await arrived, { room: 'chat_1', message: { text: what } }, `${what}: the bystander receives it`)
}

t.test('100 anonymous sockets asking for private channels of a Laravel that does not answer: Laravel gets at most BRIDGE_AUTH_CONCURRENCY calls, the excess 429 at once', async (t) => {
  const bystander = await bystanderOf(t)
  calls.decide = () => 'hold'
  calls.resetPeaks()
  const attackers = await anonymousSockets(t, ATTACKERS)
  const refusals = attackers.map(refusalsOf)
  const refused = () => refusals.reduce((sum, statuses) => sum + statuses.length, 0)
  attackers.forEach((attacker, i) => {
    for (let j = 0; j < CHANNELS_EACH; j++) subscribeEcho(attacker, `private-flood.${i}.${j}`)
  })
  const total = ATTACKERS * CHANNELS_EACH

  // Each subscription is refused, in flight, waiting for a slot, or queued behind its connection's.
  await waitFor(async () => {
    const { inFlight, waiting, queued } = await bridgeCalls()
    return refused() + inFlight + waiting + queued === total
  }, 'every subscription to be refused or placed')
  // The calls the bridge has started may still be on their way to Laravel.
  await calls.until(() => calls.open >= CONCURRENCY)
  const { inFlight, waiting, queued } = await bridgeCalls()
  t.equal(calls.peak, CONCURRENCY, `Laravel had at most ${CONCURRENCY} calls open at once`)
  t.equal(inFlight, CONCURRENCY, 'the bridge has that many in flight')
  t.ok(waiting <= CONCURRENCY * WAITING_PER_SLOT, `${waiting} wait for a slot, within the bounded wait`)
  t.ok(calls.peakPerSocket() <= CALLS_PER_CONNECTION, `no socket had more than ${CALLS_PER_CONNECTION} calls open (most: ${calls.peakPerSocket()})`)
  t.same([...new Set(refusals.flat())], [429], 'every refusal is a 429')
  // Laravel has answered nothing, and no wait can have timed out: these refusals came at once.
  // A connection queues calls only while its share is held, and at most (slots + wait) / share
  // connections can hold theirs.
  const mostQueued = Math.floor((CONCURRENCY + CONCURRENCY * WAITING_PER_SLOT) / CALLS_PER_CONNECTION) * (CHANNELS_EACH - CALLS_PER_CONNECTION)
  t.ok(refused() >= total - CONCURRENCY - CONCURRENCY * WAITING_PER_SLOT - mostQueued,
    `${refused()} of ${total} refused 429 at once (${queued} queued, ${waiting} waiting)`)
  await stillServing(t, bystander, 'the flood of private subscriptions')

  // Laravel answers again (403, it does not know these users): every subscription gets an answer.
  calls.decide = () => ({ status: 403, body: '' })
  for (const call of calls.held.splice(0)) call.answer(403)
  await waitFor(() => refused() === total, 'every subscription to be answered')
  t.equal(calls.peak, CONCURRENCY, `still at most ${CONCURRENCY} calls open at once`)
  t.same([...new Set(refusals.flat())].sort(), [403, 429], 'refused by Laravel or by the bounds, nothing else')
  t.same(await bridgeCalls(), { inFlight: 0, waiting: 0, queued: 0 }, 'nothing is left in flight or waiting')
  const counted = metricValue(await metrics(), 'bridge_echo_subscription_refusals_total{status="429"}')
  t.ok(counted >= refusals.flat().filter((status) => status === 429).length, 'the 429s are counted in /metrics')
  for (const attacker of attackers) attacker.disconnect()
})

t.test('one socket holds at most its share of calls; a page subscribing 8 private channels at once gets all 8', async (t) => {
  calls.decide = () => 'hold'
  const [greedy] = await anonymousSockets(t, 1) as [TestClient]
  for (let j = 0; j < CHANNELS_EACH; j++) subscribeEcho(greedy, `private-greedy.${j}`)
  await calls.until(() => calls.openFor(greedy.id) === CALLS_PER_CONNECTION)
  await waitFor(async () => (await bridgeCalls()).queued === CHANNELS_EACH - CALLS_PER_CONNECTION, 'the rest to queue')

  calls.resetPeaks()
  const page = await connectEcho(t, url)
  const pageId = socketOf(page).id
  const channels = Array.from({ length: 8 }, (_, i) => `page.${i}`)
  for (const channel of channels) page.private(channel)
  const answers = Promise.all(channels.map((channel) => answerTo(page, `private-${channel}`)))
  // Four of the page's calls reach Laravel; the other four wait behind them, and follow as
  // Laravel answers.
  for (const batch of [1, 2]) {
    await calls.until(() => calls.openFor(pageId) === CALLS_PER_CONNECTION)
    if (batch === 1) {
      const queued = (CHANNELS_EACH - CALLS_PER_CONNECTION) + (channels.length - CALLS_PER_CONNECTION)
      await waitFor(async () => (await bridgeCalls()).queued === queued, 'the page\'s other four to queue')
      t.equal(calls.openFor(pageId), CALLS_PER_CONNECTION, 'Laravel has four of the page\'s calls, the other four are queued')
    }
    const page = calls.held.filter((call) => call.request.form.socket_id === pageId)
    calls.held = calls.held.filter((call) => !page.includes(call))
    for (const call of page) call.answer(200, 'true')
  }
  t.same(await answers, Array(8).fill('ok'), 'all eight subscriptions are made')
  t.equal(calls.peakFor(pageId), CALLS_PER_CONNECTION, `at most ${CALLS_PER_CONNECTION} of the page's calls were open at once`)
  t.equal(calls.openFor(greedy.id), CALLS_PER_CONNECTION, 'the greedy socket still has only its share open')
  greedy.disconnect()
  await waitFor(() => calls.open === 0, 'the greedy socket\'s calls to close')
  calls.held = []
})

t.test('sockets that go give up their calls: Laravel sees them closed, and the slots serve the next page', async (t) => {
  calls.decide = () => 'hold'
  const attackers = await anonymousSockets(t, 30)
  attackers.forEach((attacker, i) => {
    for (let j = 0; j < CHANNELS_EACH; j++) subscribeEcho(attacker, `private-gone.${i}.${j}`)
  })
  await calls.until(() => calls.open === CONCURRENCY)
  for (const attacker of attackers) attacker.disconnect()
  await waitFor(async () => {
    const { inFlight, waiting, queued } = await bridgeCalls()
    return inFlight + waiting + queued === 0
  }, 'the calls of the sockets that went to end')
  // Every call Laravel got was closed by the bridge, unanswered.
  await waitFor(() => calls.open === 0, 'Laravel to see every call closed')
  calls.held = []
  t.pass('Laravel has no call open')

  calls.decide = () => ({ status: 200, body: 'true' })
  const page = await connectEcho(t, url)
  page.private('after')
  t.equal(await answerTo(page, 'private-after'), 'ok', 'a new page is served')
})

t.test('each call carries the client\'s address as X-Forwarded-For: a trusted proxy\'s chain is kept, anyone else\'s dropped', async (t) => {
  calls.decide = () => ({ status: 200, body: 'true' })
  const forwardedFor = (socketId: string | undefined) => laravel.requests.findLast((request) => request.form.socket_id === socketId)?.headers['x-forwarded-for']

  const direct = await connectEcho(t, url)
  direct.private('direct')
  t.equal(await answerTo(direct, 'private-direct'), 'ok')
  t.equal(forwardedFor(socketOf(direct).id), '127.0.0.1', 'the peer\'s address')

  const spoofing = await connectEcho(t, url, { extraHeaders: { 'x-forwarded-for': '198.51.100.7' } })
  spoofing.private('spoofing')
  t.equal(await answerTo(spoofing, 'private-spoofing'), 'ok')
  t.equal(forwardedFor(socketOf(spoofing).id), '127.0.0.1', 'a client that is not a trusted proxy cannot pick its address')

  // Through a trusted load balancer (10.0.0.5) and the trusted proxy the bridge sees as the peer.
  const proxied = await connectEcho(t, url, {
    extraHeaders: { 'x-forwarded-for': '198.51.100.7, 203.0.113.7, 10.0.0.5' },
    socketOptions: { localAddress: PROXY }
  })
  proxied.private('proxied')
  t.equal(await answerTo(proxied, 'private-proxied'), 'ok')
  t.equal(forwardedFor(socketOf(proxied).id), '203.0.113.7, 10.0.0.5, 127.0.0.2',
    'the client, the trusted hops, the peer; what the client claimed before them is dropped')
})
