// Log flooding against the real server process in production mode (docs/security.md#limits-and-timeouts): a
// client's own request id and URL are not logged at any length, and refusals (401s on /api and
// /apps, sockets refused for their token) cost the log at most about a line a second per kind,
// each line saying how many were left out, while /metrics counts every refusal.
import { setTimeout as sleep } from 'node:timers/promises'
import t, { type Test } from 'tap'
import { Agent, request as undiciRequest } from 'undici'
import { WebSocket } from 'ws'
import { metricValue, postJson, secrets, waitFor } from '../../helpers/bridge.ts'
import { startProductionBridge } from '../../helpers/production-bridge.ts'
import { pusherApp, pusherEnv } from '../../helpers/pusher.ts'

// A process compiling TypeScript on a busy machine, and a few thousand refusals.
t.setTimeout(240_000)

const METRICS_TOKEN = 'flood-metrics-token-0123456789abcdef0123'
/** Concurrent HTTP connections of the flood, and the 401s each asks for per route. */
const HTTP_CONNECTIONS = 50
const REFUSALS_PER_CONNECTION = 40
/** Websockets sending socket.io connect packets with bad tokens, and the packets each sends. */
const WEBSOCKETS = 20
const CONNECTS_PER_WEBSOCKET = 100

const { url, server } = await startProductionBridge(t, {
  LOG_LEVEL: 'info',
  BRIDGE_METRICS_TOKEN: METRICS_TOKEN,
  CORS_ORIGINS: 'https://app.example.com',
  // The flood's websockets stay open (unauthenticated) for as long as it lasts.
  BRIDGE_CONNECT_TIMEOUT: '60000',
  ...pusherEnv() as Record<string, string>
})

type Line = Record<string, unknown>

/** The JSON lines logged so far. */
function lines (): Line[] {
  return server.output().stdout.split('\n').filter((text) => text.startsWith('{')).map((text) => JSON.parse(text) as Line)
}

/**
 * Resolves once every line logged before now has been written: pino writes asynchronously, in
 * order, so a publish's `published` line coming out means the lines before it have too.
 */
async function logWritten (): Promise<void> {
  const uuid = `fence-${Math.random()}`
  const answer = await postJson(url, '/api/sms/new-message', { room: 'fence', uuid, message: {} }, { authorization: `Bearer ${secrets.apiToken}` })
  if (answer.status !== 202) throw new Error(`the fence publish was answered ${answer.status}`)
  await waitFor(() => lines().some((line) => line.msg === 'published' && line.uuid === uuid), 'the log to be written')
}

async function metrics (): Promise<string> {
  return await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text()
}

/** Refusals this file caused, per kind of refusal line; every one must be logged or counted in a later line. */
const sent = { api: 0, apps: 0, socket: 0 }
const apiLines = (line: Line) => line.msg === 'request refused' && String(line.url).startsWith('/api/')
const appsLines = (line: Line) => line.msg === 'request refused' && String(line.url).startsWith('/apps/')
const socketLines = (line: Line) => line.msg === 'socket refused'

t.test('a 14 KB X-Request-Id on a 401 is not logged: the request gets an id of its own', async (t) => {
  const requestId = `flood-id-${'A'.repeat(14 * 1024)}`
  const response = await fetch(`${url}/api/rooms/chat_1`, { headers: { 'x-request-id': requestId } })
  sent.api++
  t.equal(response.status, 401)
  await logWritten()
  const refused = lines().filter(apiLines)
  t.equal(refused.length, 1, 'the 401 is logged')
  const reqId = String(refused[0]?.reqId)
  t.ok(reqId.length >= 1 && reqId.length <= 64 && /^[\x20-\x7e]+$/.test(reqId), `its reqId is short and printable (${reqId.slice(0, 80)})`)
  t.notOk(server.output().stdout.includes('A'.repeat(100)), 'the client\'s id is nowhere in the log')

  // On publishes (each logs a `published` line with its request id): 64 printable characters
  // are kept, 65 or a control character are not.
  const cases = { kept: 'k'.repeat(64), long: 'l'.repeat(65), tab: 'job\t42' }
  for (const [what, id] of Object.entries(cases)) {
    const answer = await postJson(url, '/api/sms/new-message', { room: 'ids', uuid: `id-${what}`, message: {} },
      { authorization: `Bearer ${secrets.apiToken}`, 'x-request-id': id })
    t.equal(answer.status, 202)
  }
  await logWritten()
  const published = (what: string) => lines().find((line) => line.msg === 'published' && line.uuid === `id-${what}`)?.reqId
  t.equal(published('kept'), cases.kept, '64 printable characters are the request id')
  t.match(published('long'), /^req-/, '65 are replaced')
  t.match(published('tab'), /^req-/, 'a control character is replaced')
})

t.test('a 10 KB URL is logged cut to 256 characters, and so is a refusal reason that quotes it', async (t) => {
  // Signed with the app's key and a wrong signature: the refusal quotes the string to sign, query and all.
  const path = `/apps/${pusherApp.appId}/channels?auth_key=${pusherApp.key}&auth_timestamp=${Math.floor(Date.now() / 1000)}` +
    `&auth_version=1.0&auth_signature=${'0'.repeat(64)}&pad=${'B'.repeat(10 * 1024)}`
  const response = await fetch(`${url}${path}`)
  sent.apps++
  t.equal(response.status, 401)
  await logWritten()
  const refused = lines().filter(appsLines)
  t.equal(refused.length, 1, 'the 401 is logged')
  const logged = String(refused[0]?.url)
  t.ok(logged.length <= 256, `the URL is cut (${logged.length} characters)`)
  t.ok(logged.startsWith(`/apps/${pusherApp.appId}/channels?auth_key=`), 'from its start')
  t.ok(String(refused[0]?.reason).length <= 512, 'the reason is cut too')
  t.notOk(server.output().stdout.includes('B'.repeat(600)), 'the 10 KB are nowhere in the log')
})

/** `count` GETs of `path` on each of HTTP_CONNECTIONS connections; resolves with how many were answered 401. */
async function httpRefusals (t: Test, path: string): Promise<number> {
  const agent = new Agent({ connections: HTTP_CONNECTIONS, pipelining: 1 })
  t.teardown(() => agent.close())
  let refused = 0
  await Promise.all(Array.from({ length: HTTP_CONNECTIONS }, async () => {
    for (let index = 0; index < REFUSALS_PER_CONNECTION; index++) {
      const response = await undiciRequest(`${url}${path}`, { dispatcher: agent })
      await response.body.dump()
      if (response.statusCode === 401) refused++
    }
  }))
  return refused
}

/** A raw Engine.IO websocket sending socket.io connect packets with a bad token, one after each refusal. */
async function connectRefusals (t: Test): Promise<number> {
  const socket = new WebSocket(`${url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`)
  t.teardown(() => socket.terminate())
  let refused = 0
  await new Promise<void>((resolve, reject) => {
    socket.on('message', (data) => {
      const frame = String(data)
      // Engine.IO open (0): the session exists; socket.io CONNECT_ERROR (44): refused.
      if (frame.startsWith('44')) refused++
      if (frame.startsWith('0') || frame.startsWith('44')) {
        if (refused === CONNECTS_PER_WEBSOCKET) return resolve()
        socket.send('40{"token":"not-a-token"}')
      }
    })
    socket.once('error', reject)
    socket.once('close', () => reject(new Error(`closed after ${refused} refusals`)))
  })
  socket.removeAllListeners('close')
  return refused
}

t.test('floods of 401s and of refused socket connects: about a line a second per kind, with counts; metrics count every refusal', async (t) => {
  const before = await metrics()
  const apiSample = 'bridge_http_requests_total{method="GET",route="/api/rooms/:room",status_code="401"}'
  const appsSample = 'bridge_http_requests_total{method="GET",route="/apps/:app_id/channels",status_code="401"}'
  const socketSample = 'bridge_socket_connections_refused_total{reason="unauthorized"}'

  const started = performance.now()
  const [api, apps, sockets] = await Promise.all([
    httpRefusals(t, '/api/rooms/chat_1'),
    httpRefusals(t, `/apps/${pusherApp.appId}/channels`),
    Promise.all(Array.from({ length: WEBSOCKETS }, () => connectRefusals(t)))
  ])
  const socketRefusals = sockets.reduce((sum, count) => sum + count, 0)
  t.equal(api, HTTP_CONNECTIONS * REFUSALS_PER_CONNECTION, 'every /api request was refused')
  t.equal(apps, HTTP_CONNECTIONS * REFUSALS_PER_CONNECTION, 'every /apps request was refused')
  t.equal(socketRefusals, WEBSOCKETS * CONNECTS_PER_WEBSOCKET, 'every connect packet was refused')
  sent.api += api
  sent.apps += apps
  sent.socket += socketRefusals

  const after = await metrics()
  t.equal(metricValue(after, apiSample) - metricValue(before, apiSample), api, '/metrics counts every /api 401')
  t.equal(metricValue(after, appsSample) - metricValue(before, appsSample), apps, '/metrics counts every /apps 401')
  t.equal(metricValue(after, socketSample) - metricValue(before, socketSample), socketRefusals, '/metrics counts every refused socket')

  // Past the rate limit's second, one more refusal of each kind is logged with the count left.
  await sleep(1100)
  t.equal((await fetch(`${url}/api/rooms/chat_1`)).status, 401)
  t.equal((await fetch(`${url}/apps/${pusherApp.appId}/channels`)).status, 401)
  sent.api++
  sent.apps++
  const last = new WebSocket(`${url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`)
  t.teardown(() => last.terminate())
  await new Promise<void>((resolve) => {
    last.on('message', (data) => {
      const frame = String(data)
      if (frame.startsWith('0')) last.send('40{"token":"not-a-token"}')
      if (frame.startsWith('44')) resolve()
    })
  })
  sent.socket++
  const seconds = (performance.now() - started) / 1000
  await logWritten()

  const all = lines()
  for (const [kind, matches] of [['/api 401s', apiLines], ['/apps 401s', appsLines], ['refused sockets', socketLines]] as const) {
    const logged = all.filter(matches)
    const leftOut = logged.reduce((sum, line) => sum + Number(line.notLogged ?? 0), 0)
    const total = sent[kind === '/api 401s' ? 'api' : kind === '/apps 401s' ? 'apps' : 'socket']
    // The two single refusals of the first tests add a line each to the two HTTP kinds.
    t.ok(logged.length <= Math.ceil(seconds) + 3, `${kind}: ${logged.length} lines for ${total} refusals in ${seconds.toFixed(1)} s`)
    t.ok(logged.some((line) => Number(line.notLogged) > 0), `${kind}: a line says how many were not logged`)
    t.equal(logged.length + leftOut, total, `${kind}: every refusal is logged or counted in a later line`)
  }
})
