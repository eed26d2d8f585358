// Clients only send small subscribe messages: an oversized one drops that client, nobody else.
// Handshakes that do not complete the socket.io connect are capped and expire.
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { WebSocket } from 'ws'
import { isHandshake } from '../../../../plugins/external/socket-io.ts'
import {
  connectClient, metricValue, nextEvent, postJson, refusedConnection, secrets, securedEnv, socketToken, startBridge, subscribe, waitFor
} from '../../../helpers/bridge.ts'

t.test('a 100 kB message disconnects its sender; other sockets keep receiving', async (t) => {
  const { url } = await startBridge(t, securedEnv({ BRIDGE_API_SIGNING_SECRET: '' }))
  const token = socketToken({ sub: 'user-1', rooms: ['chat_*'] })
  const bystander = await connectClient(t, url, { auth: { token } })
  t.same(await subscribe(bystander, 'chat_1'), { ok: true, room: 'chat_1' })

  const sender = await connectClient(t, url, { auth: { token } })
  const outcome = new Promise<string>((resolve) => {
    sender.once('disconnect', resolve)
    sender.emit('subscribe', { room: 'x'.repeat(100_000) }, () => resolve('answered: the message was read'))
  })
  t.equal(await outcome, 'transport close')

  const arrived = nextEvent(bystander, 'new_message')
  const answer = await postJson(url, '/api/sms/new-message', { room: 'chat_1', message: { text: 'still here' } },
    { authorization: `Bearer ${secrets.apiToken}` })
  t.equal(answer.status, 202)
  t.match(await arrived, { message: { text: 'still here' } })
})

/** An Engine.IO polling handshake, as a flood would send it (no token, no socket.io connect). */
async function pollingHandshake (url: string, headers: Record<string, string> = {}): Promise<{ status: number, body: string }> {
  const response = await fetch(`${url}/socket.io/?EIO=4&transport=polling`, { headers })
  return { status: response.status, body: await response.text() }
}

async function pendingGauge (fastify: FastifyInstance): Promise<number> {
  const metrics = (await fastify.inject({ method: 'GET', url: '/metrics' })).body
  return metricValue(metrics, 'bridge_socket_pending_connections')
}

/** Where a websocket upgrade is answered: 101 when it opens, else the status of the refusal. */
function websocketStatus (url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`)
    socket.once('open', () => { socket.close(); resolve(101) })
    socket.once('unexpected-response', (_request, response) => { resolve(response.statusCode ?? 0); socket.terminate() })
    socket.once('error', reject)
  })
}

t.test('handshakes past BRIDGE_MAX_PENDING_CONNECTIONS are refused 503 until pending ones complete or expire', async (t) => {
  const cap = 20
  const { fastify, url } = await startBridge(t, securedEnv({
    BRIDGE_API_SIGNING_SECRET: '', BRIDGE_MAX_PENDING_CONNECTIONS: String(cap), BRIDGE_CONNECT_TIMEOUT: '60000'
  }))
  const token = socketToken({ sub: 'user-1', rooms: ['chat_*'] })
  const bystander = await connectClient(t, url, { auth: { token } })
  t.same(await subscribe(bystander, 'chat_1'), { ok: true, room: 'chat_1' })
  t.equal(await pendingGauge(fastify), 0, 'an authenticated connection is not pending')
  const [connected] = fastify.io.of('/').sockets.values()
  const closeListeners = connected?.conn.rawListeners('close').map((listener) => ((listener as { listener?: Function }).listener ?? listener).name)
  t.notOk(closeListeners?.includes('settleOnClose'), 'nor does it keep the listener that settles a pending one')

  const answers = []
  for (let i = 0; i < cap + 10; i++) answers.push(await pollingHandshake(url))
  t.equal(answers.filter(({ status }) => status === 200).length, cap, 'the cap is served')
  const refused = answers.filter(({ status }) => status === 503)
  t.equal(refused.length, 10, 'the rest is refused')
  t.match(JSON.parse(refused[0]?.body ?? '{}'), { code: 'TOO_MANY_PENDING_CONNECTIONS', message: /not completed the socket\.io connect/ })
  t.equal(await pendingGauge(fastify), cap, 'bridge_socket_pending_connections counts them')
  t.equal(fastify.io.engine.clientsCount, cap + 1, 'no session was made for a refused handshake')
  t.equal(await websocketStatus(url), 503, 'a websocket handshake is refused too')
  t.equal(await refusedConnection(t, url, { auth: { token } }), 'websocket error', 'even with a valid token, while the cap is reached')

  // Connected clients are not disturbed.
  const received = nextEvent(bystander, 'new_message')
  const answer = await postJson(url, '/api/sms/new-message', { room: 'chat_1', message: { text: 'still here' } },
    { authorization: `Bearer ${secrets.apiToken}` })
  t.equal(answer.status, 202)
  t.match(await received, { message: { text: 'still here' } })
  const metrics = (await fastify.inject({ method: 'GET', url: '/metrics' })).body
  t.equal(metricValue(metrics, 'bridge_socket_connections_refused_total{reason="pending"}'), 12)
})

t.test('pending connections are closed after BRIDGE_CONNECT_TIMEOUT; then handshakes are served again', async (t) => {
  const { fastify, url } = await startBridge(t, securedEnv({ BRIDGE_MAX_PENDING_CONNECTIONS: '10', BRIDGE_CONNECT_TIMEOUT: '300' }))
  for (let i = 0; i < 10; i++) t.equal((await pollingHandshake(url)).status, 200)
  t.equal((await pollingHandshake(url)).status, 503)
  await waitFor(async () => await pendingGauge(fastify) === 0 && fastify.io.engine.clientsCount === 0, 'the pending sessions to expire')
  t.equal((await pollingHandshake(url)).status, 200, 'served again')
  // A client that completes the connect in time stays connected.
  const client = await connectClient(t, url, { auth: { token: socketToken({ sub: 'user-1' }) } })
  t.ok(client.connected)
})

t.test('behind a trusted proxy, pending connections are capped per client address too', async (t) => {
  const { fastify, url } = await startBridge(t, securedEnv({
    BRIDGE_TRUST_PROXY: 'loopback', BRIDGE_MAX_PENDING_CONNECTIONS_PER_ADDRESS: '3', BRIDGE_CONNECT_TIMEOUT: '60000'
  }))
  const from = (address: string) => ({ 'x-forwarded-for': address })
  for (let i = 0; i < 3; i++) t.equal((await pollingHandshake(url, from('203.0.113.7'))).status, 200)
  const refused = await pollingHandshake(url, from('203.0.113.7'))
  t.equal(refused.status, 503, 'a fourth from the same client is refused')
  t.match(JSON.parse(refused.body), { message: /from this address/ })
  t.equal((await pollingHandshake(url, from('203.0.113.8'))).status, 200, 'another client is served')
  const metrics = (await fastify.inject({ method: 'GET', url: '/metrics' })).body
  t.equal(metricValue(metrics, 'bridge_socket_connections_refused_total{reason="pending_per_address"}'), 1)

  // Without a trusted proxy, X-Forwarded-For says nothing: only the global cap applies.
  const direct = await startBridge(t, securedEnv({ BRIDGE_MAX_PENDING_CONNECTIONS_PER_ADDRESS: '3', BRIDGE_CONNECT_TIMEOUT: '60000' }))
  for (let i = 0; i < 5; i++) t.equal((await pollingHandshake(direct.url, from('203.0.113.7'))).status, 200)
})

t.test('a handshake is told apart from a session\'s request as Engine.IO does, so none slips past the cap', async (t) => {
  const cases: Array<[string, boolean]> = [
    ['/socket.io/?EIO=4&transport=polling', true],
    ['/socket.io/?EIO=4&transport=polling&sid=', true],
    ['/socket.io/?EIO=4&transport=polling&sid=abc&sid=', true],
    ['/socket.io/?EIO=4&transport=polling&x=sid%3Dabc', true],
    ['/socket.io/?EIO=4&transport=polling&sid=abc', false],
    ['/socket.io/?sid=&sid=abc&EIO=4&transport=websocket', false]
  ]
  for (const [url, handshake] of cases) t.equal(isHandshake({ url }), handshake, url)

  const { url } = await startBridge(t, securedEnv({ BRIDGE_MAX_PENDING_CONNECTIONS: '1', BRIDGE_CONNECT_TIMEOUT: '60000' }))
  t.equal((await pollingHandshake(url)).status, 200)
  for (const query of ['sid=', 'sid=abc&sid=']) {
    t.equal((await fetch(`${url}/socket.io/?EIO=4&transport=polling&${query}`)).status, 503, query)
  }
})
