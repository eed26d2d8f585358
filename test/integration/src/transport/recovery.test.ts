// Missed-event recovery on one node: within a byte budget, free for channels nobody is in,
// never reporting a recovered session with a gap, and checked again like a new connection.
import { createSigner } from 'fast-jwt'
import t from 'tap'
import {
  connectClient,
  metricValue,
  nextEvent,
  postJson,
  recordEvents,
  refusedConnection,
  securedEnv,
  secrets,
  signedHeaders,
  startBridge,
  subscribe,
  waitFor
} from '../../../helpers/bridge.ts'
import { loadBalancer } from '../../../helpers/load-balancer.ts'
import { countingPublisher, dropConnection, gapCheck, reconnect } from '../../../helpers/recovery.ts'

// Several bridges (or many reconnects) on a machine that may be busy: more than the default minute.
t.setTimeout(180_000)

async function scrape (url: string): Promise<string> {
  return await (await fetch(`${url}/metrics`)).text()
}

t.test('recovered === true never hides a gap: clients drop and come back while events keep coming', async (t) => {
  const { fastify, url } = await startBridge(t)
  const clients = await Promise.all([1, 2, 3, 4].map(() => connectClient(t, url)))
  for (const client of clients) await subscribe(client, 'chat_gap')
  const checks = clients.map(gapCheck)

  const publisher = countingPublisher('chat_gap', () => url)

  await Promise.all(clients.map(async (client, index) => {
    for (let round = 0; round < 8; round++) {
      await dropConnection(client, fastify)
      await new Promise((resolve) => setTimeout(resolve, (round * 7 + index * 5) % 40))
      await reconnect(client)
      ;(checks[index] as ReturnType<typeof gapCheck>).reconnected()
      if (!client.recovered) await subscribe(client, 'chat_gap')
      // Let a few events through before the next drop.
      await nextEvent(client, 'new_message')
    }
  }))
  const published = await publisher.stop()

  const total = checks.reduce((sum, check) => ({
    recovered: sum.recovered + check.recovered,
    restarted: sum.restarted + check.restarted,
    hiddenGaps: sum.hiddenGaps + check.hiddenGaps,
    duplicates: sum.duplicates + check.duplicates
  }), { recovered: 0, restarted: 0, hiddenGaps: 0, duplicates: 0 })
  t.comment(`${published} events, ${total.recovered} recovered and ${total.restarted} fresh reconnects`)
  t.equal(total.recovered + total.restarted, 32, 'every reconnect counted')
  t.ok(total.recovered > 0, 'recovery happened')
  t.equal(total.hiddenGaps, 0, 'no event missing after recovered === true')
  t.equal(total.duplicates, 0, 'no event twice')
})

t.test('missed events beyond BRIDGE_RECOVERY_MAX_BYTES: the client reconnects with recovered === false', async (t) => {
  const { fastify, url } = await startBridge(t, { BRIDGE_RECOVERY_MAX_BYTES: '20000' })
  const client = await connectClient(t, url)
  await subscribe(client, 'chat_budget')
  const first = nextEvent(client, 'new_message')
  await postJson(url, '/api/sms/new-message', { room: 'chat_budget', message: { n: 0 } })
  await first

  await dropConnection(client, fastify)
  const text = 'x'.repeat(1000)
  for (let n = 1; n <= 40; n++) await postJson(url, '/api/sms/new-message', { room: 'chat_budget', message: { n, text } })
  const metrics = await scrape(url)
  t.ok(metricValue(metrics, 'bridge_recovery_kept_bytes') <= 20000, `kept bytes within the budget (${metricValue(metrics, 'bridge_recovery_kept_bytes')})`)
  t.ok(metricValue(metrics, 'bridge_recovery_kept_events') < 40, 'the oldest events were dropped')

  const received = recordEvents(client)
  await reconnect(client)
  t.equal(client.recovered, false, 'not recovered: some missed events are gone')
  t.same(received, [], 'and nothing of the old session is sent')
})

t.test('events of channels nobody is subscribed to are not kept', async (t) => {
  const { url } = await startBridge(t)
  for (let n = 0; n < 200; n++) await postJson(url, '/api/sms/new-message', { room: `nobody_${n % 7}`, message: { n } })
  const metrics = await scrape(url)
  t.equal(metricValue(metrics, 'bridge_recovery_kept_events'), 0)
  t.equal(metricValue(metrics, 'bridge_recovery_kept_bytes'), 0)
})

t.test('a recovered session is checked again: an expired token gets nothing it missed', async (t) => {
  const { fastify, url } = await startBridge(t, securedEnv())
  const expiresAt = Math.floor(Date.now() / 1000) + 2
  const token = createSigner({ key: secrets.jwtSecret, algorithm: 'HS256' })({ sub: '1', rooms: ['chat_exp'], exp: expiresAt })
  const client = await connectClient(t, url, { auth: { token } })
  await subscribe(client, 'chat_exp')
  const received = recordEvents(client)

  await dropConnection(client, fastify)
  await waitFor(() => Date.now() > expiresAt * 1000 + 100, 'the token to expire')
  const body = JSON.stringify({ room: 'chat_exp', message: { secret: 'after expiry' } })
  t.equal((await fetch(`${url}/api/sms/new-message`, { method: 'POST', headers: { 'content-type': 'application/json', ...signedHeaders(body) }, body })).status, 202)

  const refused = new Promise<string>((resolve) => client.once('connect_error', (error) => resolve(error.message)))
  client.connect()
  t.equal(await refused, 'unauthorized', 'the reconnect is refused as a new connection would be')
  t.same(received.filter(({ event }) => event === 'new_message'), [], 'nothing it missed was sent to it')
  t.equal(await refusedConnection(t, url, { auth: { token } }), 'unauthorized')
})

t.test('a recovered session is checked again: from an origin outside CORS_ORIGINS it is refused at the handshake', async (t) => {
  const { fastify, url } = await startBridge(t, securedEnv({ BRIDGE_API_SIGNING_SECRET: '', CORS_ORIGINS: 'https://app.example.com' }))
  const token = createSigner({ key: secrets.jwtSecret, algorithm: 'HS256', expiresIn: 3_600_000 })({ sub: '1', rooms: ['chat_origin'] })
  const client = await connectClient(t, url, { auth: { token }, extraHeaders: { origin: 'https://app.example.com' } })
  await subscribe(client, 'chat_origin')
  const received = recordEvents(client)

  await dropConnection(client, fastify)
  t.equal((await postJson(url, '/api/sms/new-message', { room: 'chat_origin', message: { secret: 'missed' } },
    { authorization: `Bearer ${secrets.apiToken}` })).status, 202)
  // The same session (its id and offset) presented from another origin.
  client.io.opts.extraHeaders = { origin: 'https://evil.example.com' }
  const refused = new Promise<string>((resolve) => client.once('connect_error', (error) => resolve(error.message)))
  client.connect()
  t.equal(await refused, 'websocket error', 'refused before any session exists')
  t.same(received.filter(({ event }) => event === 'new_message'), [], 'nothing it missed was sent to it')
  const metrics = (await fastify.inject({ method: 'GET', url: '/metrics' })).body
  t.equal(metricValue(metrics, 'bridge_socket_connections_refused_total{reason="origin"}'), 1)
})

t.test('a socket that stops reading is cut loose past BRIDGE_MAX_BUFFERED_BYTES, then recovers', async (t) => {
  const { fastify, url } = await startBridge(t, { BRIDGE_MAX_BUFFERED_BYTES: '200000' })
  const slow = await connectClient(t, url)
  const fast = await connectClient(t, url)
  await subscribe(slow, 'chat_slow')
  await subscribe(fast, 'chat_slow')
  const checkSlow = gapCheck(slow)
  const fastReceived = recordEvents(fast)
  const first = nextEvent(slow, 'new_message')
  await postJson(url, '/api/sms/new-message', { room: 'chat_slow', message: { n: 0 } })
  await first

  const slowOnServer = fastify.io.of('/').sockets.get(slow.id ?? '')
  const cut = new Promise((resolve) => slowOnServer?.once('disconnect', resolve))
  const tcp = (slow.io.engine.transport as unknown as { ws: { _socket: { pause: () => void, resume: () => void } } }).ws._socket
  tcp.pause()
  // 40 KB events until the kernel's buffers between the two ends are full and 200 KB wait.
  const text = 'x'.repeat(40 * 1024)
  let n = 0
  while (slowOnServer?.connected === true && n < 1000) {
    n += 1
    await postJson(url, '/api/sms/new-message', { room: 'chat_slow', message: { n, text } })
  }
  t.equal(await cut, 'forced close', `the server disconnected the slow socket (after ${n} events)`)
  t.equal(metricValue(await scrape(url), 'bridge_slow_sockets_disconnected_total'), 1, 'counted')
  await waitFor(() => fastReceived.filter(({ event }) => event === 'new_message').length === n + 1, 'the other socket to get everything')

  const noticed = new Promise((resolve) => slow.once('disconnect', resolve))
  tcp.resume()
  await noticed
  await reconnect(slow)
  checkSlow.reconnected()
  t.equal(slow.recovered, true, 'it reconnects and recovers what it missed')
  const last = new Promise((resolve) => slow.on('new_message', (data) => { if ((data.message as { n: number }).n === n + 1) resolve(data) }))
  await postJson(url, '/api/sms/new-message', { room: 'chat_slow', message: { n: n + 1 } })
  await last
  t.equal(checkSlow.hiddenGaps, 0)
  t.equal(checkSlow.duplicates, 0)
})

t.test('a presence member back within the grace is no news; one that leaves for good is', async (t) => {
  const { fastify, url } = await startBridge(t)
  const ann = await connectClient(t, url)
  const bob = await connectClient(t, url)
  const annEvents = ann as unknown as { on: (event: string, listener: (channel: string, member: { user_id: string }) => void) => void }
  // Joinings are announced once their hold ends (a second): Ann hears of Bob before the test starts.
  const annHeardOfBob = new Promise((resolve) => annEvents.on('presence:joining', resolve))
  for (const [client, user] of [[ann, 'ann'], [bob, 'bob']] as const) {
    const socket = fastify.io.of('/').sockets.get(client.id ?? '')
    if (socket === undefined) throw new Error('no server socket')
    await fastify.transport.presence.join(socket, 'presence-room', { user_id: user })
    // An event carrying an offset, so that the client can recover.
    const notice = nextEvent(client, 'subscribed')
    await fastify.transport.emitRecoverable(socket, 'subscribed', { room: 'presence-room' })
    await notice
  }
  await annHeardOfBob
  const seenByAnn: string[] = []
  annEvents.on('presence:joining', (_channel, member) => seenByAnn.push(`joining ${member.user_id}`))
  annEvents.on('presence:leaving', (_channel, member) => seenByAnn.push(`leaving ${member.user_id}`))

  await dropConnection(bob, fastify)
  await reconnect(bob)
  t.equal(bob.recovered, true)
  t.same(fastify.transport.presence.members('presence-room'), [{ user_id: 'ann' }, { user_id: 'bob' }], 'Bob is still a member')

  const left = new Promise((resolve) => annEvents.on('presence:leaving', resolve))
  bob.disconnect()
  await left
  t.same(seenByAnn, ['leaving bob'], 'no leaving and joining for the short drop; a leaving when Bob goes')
})

t.test('a client back before the bridge noticed its connection dropped recovers; its old socket is closed', async (t) => {
  const { fastify, url } = await startBridge(t)
  const balancer = await loadBalancer(t, url)
  const client = await connectClient(t, balancer.url)
  await subscribe(client, 'chat_blip')
  const check = gapCheck(client)
  const first = nextEvent(client, 'new_message')
  await postJson(url, '/api/sms/new-message', { room: 'chat_blip', message: { n: 0 } })
  await first

  const old = fastify.io.of('/').sockets.get(client.id ?? '')
  const dropped = new Promise((resolve) => client.once('disconnect', resolve))
  balancer.dropClientsSilently()
  await dropped
  t.ok(old?.connected, 'the bridge has not noticed: the old socket is still there')
  for (let n = 1; n <= 3; n++) await postJson(url, '/api/sms/new-message', { room: 'chat_blip', message: { n } })

  await reconnect(client)
  check.reconnected()
  t.equal(client.recovered, true, 'recovered from the live session')
  t.equal(old?.connected, false, 'the old socket is closed')
  t.equal(fastify.io.of('/').sockets.size, 1, 'one socket, under the same id')
  const last = new Promise((resolve) => client.on('new_message', (data) => { if ((data.message as { n: number }).n === 4) resolve(data) }))
  await postJson(url, '/api/sms/new-message', { room: 'chat_blip', message: { n: 4 } })
  await last
  t.equal(check.hiddenGaps, 0)
  t.equal(check.duplicates, 0)
})

t.test('a client dropped again before it read what its recovery sent gets it on the next recovery', async (t) => {
  const { fastify, url } = await startBridge(t)
  const client = await connectClient(t, url)
  await subscribe(client, 'chat_again')
  const received: number[] = []
  client.on('new_message', (data) => {
    const n = (data.message as { n?: unknown }).n
    if (typeof n === 'number') received.push(n)
  })
  await postJson(url, '/api/sms/new-message', { room: 'chat_again', message: { n: 0 } })
  await waitFor(() => received.length === 1, 'the first event')
  // socket.io-client's record of the last event it read, sent back when it reconnects.
  const offsets = client as unknown as { _lastOffset: string }
  const readUpTo = offsets._lastOffset
  await dropConnection(client, fastify)
  for (let n = 1; n <= 5; n++) await postJson(url, '/api/sms/new-message', { room: 'chat_again', message: { n } })

  await reconnect(client)
  t.equal(client.recovered, true, 'the first reconnect recovered')
  await waitFor(() => received.length === 6, 'what it missed')
  // Stand for a connection that died before its client read those frames: they never arrived.
  received.length = 1
  offsets._lastOffset = readUpTo
  await dropConnection(client, fastify)

  await reconnect(client)
  t.equal(client.recovered, true, 'the second reconnect recovers too')
  await waitFor(() => received.length >= 6, 'what it missed, again', 5000).catch(() => {})
  t.same(received, [0, 1, 2, 3, 4, 5], 'everything it did not read, once, in order')
})
