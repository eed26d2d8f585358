// Load shedding: past a threshold, publishes answer 503 with Retry-After and new sockets are
// refused, while /health, /ready and /metrics keep answering and connected sockets stay.
import type { AddressInfo } from 'node:net'
import t from 'tap'
import Fastify from 'fastify'
import { Client } from 'undici'
import app from '../../../../src/app.ts'
import { loadConfig } from '../../../../src/config/index.ts'
import { serverOptions } from '../../../../src/http/server-options.ts'
import { RETRY_AFTER_SECONDS } from '../../../../src/http/errors.ts'
import { captureLogs, connectClient, freePort, metricValue, postJson, startBridge, startServer, subscribe, testEnv, waitFor } from '../../../helpers/bridge.ts'
import { pusherApp, pusherEnv } from '../../../helpers/pusher.ts'

// Each test waits for load samples, one starts a bridge process: more than the default minute on a busy machine.
t.setTimeout(180_000)

const message = { room: 'chat_load', message: { text: 'hi' } }

async function scrape (url: string): Promise<string> {
  return await (await fetch(`${url}/metrics`)).text()
}

t.test('over a threshold: 503 + Retry-After for publishes, operations endpoints answer, sockets refused', async (t) => {
  const logs = captureLogs()
  // A heap threshold of 1 byte: the first load sample (after a second) is over it for good.
  const { url } = await startBridge(t, { BRIDGE_MAX_HEAP_USED_BYTES: '1', LOG_LEVEL: 'warn' }, { logStream: logs.stream })
  await waitFor(async () => metricValue(await scrape(url), 'bridge_overloaded') === 1, 'the bridge to report overload')

  for (const [path, body] of [['/api/sms/new-message', message], ['/api/sms/batch', { events: [{ type: 'new-message', ...message }] }]] as const) {
    const response = await fetch(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body)
    })
    t.equal(response.status, 503, `${path} is shed`)
    t.equal(response.headers.get('retry-after'), String(RETRY_AFTER_SECONDS), 'with Retry-After')
    t.same(await response.json(), {
      statusCode: 503,
      error: 'Service Unavailable',
      message: `The bridge is overloaded; retry in ${RETRY_AFTER_SECONDS} seconds`,
      code: 'FST_UNDER_PRESSURE'
    })
  }

  t.equal((await fetch(`${url}/health`)).status, 200, '/health answers')
  const ready = await fetch(`${url}/ready`)
  t.equal(ready.status, 200, '/ready answers: overload is not unreadiness')
  t.same(await ready.json(), { status: 'ready' })

  await t.rejects(connectClient(t, url), 'a new socket.io connection is refused')

  const metrics = await scrape(url)
  t.equal(metricValue(metrics, 'bridge_shed_requests_total{reason="heapUsedBytes"}'), 2, 'shed requests counted by reason')
  t.equal(metricValue(metrics, 'bridge_socket_connections_refused_total{reason="overloaded"}'), 1, 'refused connections counted')
  t.equal(metricValue(metrics, 'bridge_http_requests_total{method="POST",route="/api/sms/new-message",status_code="503"}'), 1)
  t.equal(metricValue(metrics, 'bridge_events_published_total{event="new_message",source="api"}'), 0, 'nothing was emitted')

  const warnings = logs.lines.filter((line) => line.msg === 'overloaded: answering 503 to new requests')
  t.equal(warnings.length, 1, 'one warning, not one line per shed request')
  t.match(warnings[0], { level: 40, reason: 'heapUsedBytes' })
  t.same(logs.lines.filter((line) => Number(line.level) >= 50), [], 'and no error line per shed request')
})

t.test('a busy event loop sheds publishes for real, keeps connected sockets, and recovers', async (t) => {
  const { fastify, url } = await startBridge(t, { BRIDGE_MAX_EVENT_LOOP_UTILIZATION: '0.5' })
  // The first load sample covers the start itself (busy): connect after a calm one.
  await waitFor(() => fastify.memoryUsage().heapUsed > 0 && !fastify.isUnderPressure(), 'a load sample after the start')
  const client = await connectClient(t, url)
  t.same(await subscribe(client, 'chat_load'), { ok: true, room: 'chat_load' })

  // Keep this process's event loop busy, yielding between slices so requests still flow.
  const loadState = { busy: true }
  const load = (async () => {
    while (loadState.busy) {
      const until = performance.now() + 40
      while (performance.now() < until) { /* busy */ }
      await new Promise((resolve) => setImmediate(resolve))
    }
  })()
  t.teardown(() => { loadState.busy = false })

  let shed: Awaited<ReturnType<typeof postJson>> | undefined
  await waitFor(async () => {
    const answer = await postJson(url, '/api/sms/new-message', message)
    if (answer.status !== 503) return false
    shed = answer
    return true
  }, 'a publish to be shed')
  t.match(shed?.body, { statusCode: 503, code: 'FST_UNDER_PRESSURE' })
  t.ok(client.connected, 'sockets connected before the overload stay connected')
  t.ok(metricValue(await scrape(url), 'bridge_shed_requests_total{reason="eventLoopUtilization"}') >= 1, 'counted by reason')

  loadState.busy = false
  await load
  await waitFor(async () => (await postJson(url, '/api/sms/new-message', message)).status === 202, 'publishes to be accepted again')
  // Publishes accepted while waiting emitted events too: wait for this one by its uuid.
  const delivered = new Promise<unknown>((resolve) => {
    client.on('new_message', (data) => { if (data.uuid === 'after-load') resolve(data) })
  })
  t.equal((await postJson(url, '/api/sms/new-message', { ...message, uuid: 'after-load' })).status, 202)
  t.match(await delivered, { uuid: 'after-load' }, 'the socket kept through the overload receives events')
})

t.test('with the default delay threshold, a blocked event loop sheds, and shedding ends once it runs again', async (t) => {
  const { maxEventLoopDelayMs } = loadConfig({})
  const { fastify, url } = await startBridge(t, { BRIDGE_MAX_EVENT_LOOP_DELAY: String(maxEventLoopDelayMs) })
  await waitFor(() => !fastify.isUnderPressure(), 'a calm load sample after the start')

  // Blocks of several times the threshold, with a turn of the loop between them.
  const loadState = { blocking: true }
  const load = (async () => {
    while (loadState.blocking) {
      const until = performance.now() + maxEventLoopDelayMs * 4
      while (performance.now() < until) { /* blocked */ }
      await new Promise((resolve) => setImmediate(resolve))
    }
  })()
  t.teardown(() => { loadState.blocking = false })
  await waitFor(async () => (await postJson(url, '/api/sms/new-message', message)).status === 503, 'a publish to be shed')
  t.ok(metricValue(await scrape(url), 'bridge_shed_requests_total{reason="eventLoopDelay"}') >= 1, 'shed for the event-loop delay')

  loadState.blocking = false
  await load
  await waitFor(async () => (await postJson(url, '/api/sms/new-message', message)).status === 202, 'publishes to be accepted again')
  t.equal(metricValue(await scrape(url), 'bridge_overloaded'), 0, 'no longer overloaded')
})

t.test('memory shedding starts on live heap and ends when it is freed, though nothing else collects it', async (t) => {
  const { fastify, url } = await startBridge(t, { BRIDGE_MAX_HEAP_USED_BYTES: String(process.memoryUsage().heapUsed + 96 * 2 ** 20) })
  await waitFor(() => !fastify.isUnderPressure(), 'a calm load sample after the start')

  // About 200 MB of live arrays on the V8 heap (doubles, not buffers: those are off the heap).
  let held: number[][] | undefined = Array.from({ length: 25 }, (_, i) => new Array<number>(1_000_000).fill(i + 0.5))
  await waitFor(async () => (await postJson(url, '/api/sms/new-message', message)).status === 503, 'a publish to be shed while the heap is full')
  t.ok(metricValue(await scrape(url), 'bridge_shed_requests_total{reason="heapUsedBytes"}') >= 1, 'shed for the heap')
  t.ok(held.length === 25 && metricValue(await scrape(url), 'bridge_heap_used_after_gc_bytes') > fastify.config.maxHeapUsedBytes,
    'the heap measured after a full collection is over the threshold')

  // Garbage now, which this quiet process would keep for a long time without a full collection.
  held = undefined
  await waitFor(async () => (await postJson(url, '/api/sms/new-message', message)).status === 202, 'publishes to be accepted again')
  t.ok(metricValue(await scrape(url), 'bridge_heap_used_after_gc_bytes') <= fastify.config.maxHeapUsedBytes, 'the freed heap counts as free')
  t.equal(held, undefined)
})

t.test('in a quiet process, memory shedding ends once the heap is garbage, though nothing else would collect it', async (t) => {
  const port = await freePort()
  // Over 160 MiB of live heap sheds; the arrays take about 240 MB.
  const server = startServer({ PORT: String(port), LOG_LEVEL: 'info', BRIDGE_MAX_HEAP_USED_BYTES: String(160 * 2 ** 20) }, 'test/fixtures/quiet-bridge.ts')
  t.teardown(() => { server.child.kill('SIGKILL') })
  await server.logLine('Server listening')
  const url = `http://127.0.0.1:${port}`
  t.equal((await postJson(url, '/api/sms/new-message', message)).status, 202, 'accepted before')

  t.equal((await postJson(url, '/test/allocate', {})).status, 200)
  await waitFor(async () => (await postJson(url, '/api/sms/new-message', message)).status === 503, 'a publish to be shed while the heap is full')
  t.equal((await postJson(url, '/test/free', {})).status, 200)
  await waitFor(async () => (await postJson(url, '/api/sms/new-message', message)).status === 202, 'publishes to be accepted again')
  t.ok(metricValue(await scrape(url), 'bridge_heap_used_after_gc_bytes') < 160 * 2 ** 20, 'the heap after a full collection is under the threshold')
})

t.test('the start itself is not overload: a loop blocked while starting does not shed the first requests', async (t) => {
  // The default event-loop delay threshold (100 ms), memory thresholds off.
  const config = loadConfig(testEnv({ BRIDGE_MAX_EVENT_LOOP_DELAY: undefined }))
  t.equal(config.maxEventLoopDelayMs, 100)
  const fastify = Fastify(serverOptions(config))
  await fastify.register(app, { config })
  // Starting keeps the loop busy (modules, schema compilation): here in turns of 150 ms for a
  // second, past the default 100 ms threshold.
  await fastify.register(async () => {
    for (let turn = 0; turn < 7; turn++) {
      const until = Date.now() + 150
      while (Date.now() < until) { /* busy, as a slow start is */ }
      await new Promise((resolve) => setImmediate(resolve))
    }
  })
  t.teardown(() => fastify.close())
  await fastify.ready()
  // Let the overdue load sample, the one that covers the blocked start, be taken.
  await new Promise((resolve) => setTimeout(resolve, 20))
  const response = await fastify.inject({ method: 'POST', url: '/api/sms/new-message', payload: message })
  t.equal(response.statusCode, 202, 'the first publish after the start is accepted')
  t.equal(fastify.overloaded(), false, 'and new sockets are not refused')
})

t.test('a flood of publishes in one turn of the event loop: past the delay threshold the rest are shed at once with Retry-After, /health and /ready answer', async (t) => {
  const config = loadConfig(testEnv(pusherEnv({ BRIDGE_MAX_EVENT_LOOP_DELAY: '50' })))
  const fastify = Fastify(serverOptions(config))
  await fastify.register(app, { config })
  // Each publish keeps the event loop busy for a while, as publishes do past the bridge's capacity.
  fastify.addHook('onRequest', (request, _reply, done) => {
    if (request.method === 'POST') {
      const until = performance.now() + 20
      while (performance.now() < until) { /* busy */ }
    }
    done()
  })
  t.teardown(() => fastify.close())
  await fastify.listen({ port: 0, host: '127.0.0.1' })
  const url = `http://127.0.0.1:${(fastify.server.address() as AddressInfo).port}`

  // Publishers on keep-alive connections, opened first: the flood is then written in one go and
  // read by the bridge in one turn of its event loop (it runs in this process).
  const publishers = Array.from({ length: 20 }, () => new Client(url, { pipelining: 1 }))
  const health = new Client(url)
  const ready = new Client(url)
  t.teardown(() => Promise.all([...publishers, health, ready].map((client) => client.close())))
  await Promise.all([...publishers, health, ready].map(async (client) => { await (await client.request({ method: 'GET', path: '/health' })).body.dump() }))

  async function answer (client: Client, method: 'GET' | 'POST', path: string, body?: unknown) {
    const response = await client.request({ method, path, headers: { 'content-type': 'application/json' }, ...(body !== undefined && { body: JSON.stringify(body) }) })
    return { status: response.statusCode, retryAfter: response.headers['retry-after'], body: await response.body.json() }
  }
  async function flood () {
    const pusher = publishers.at(-1) as Client
    const publishes = publishers.slice(0, -1).map((client) => answer(client, 'POST', '/api/sms/new-message', message))
    // Unsigned: it would be a 401, were it not shed before it is authenticated.
    const pusherPublish = answer(pusher, 'POST', `/apps/${pusherApp.appId}/events`, { name: 'new_message', channel: 'chat_load', data: '{}' })
    return {
      publishes: await Promise.all(publishes),
      pusher: await pusherPublish,
      health: await answer(health, 'GET', '/health'),
      ready: await answer(ready, 'GET', '/ready')
    }
  }

  // A flood during the start's grace is not shed, and leaves the sampled delay past its
  // threshold for a moment (then the whole next flood is shed): flood after a calm sample.
  let last: Awaited<ReturnType<typeof flood>> | undefined
  await waitFor(async () => {
    await waitFor(() => !fastify.isUnderPressure(), 'a calm load sample')
    last = await flood()
    const statuses = new Set(last.publishes.map((publish) => publish.status))
    return statuses.has(202) && statuses.has(503)
  }, 'a flood whose later publishes are shed')
  const { publishes, pusher, health: healthAnswer, ready: readyAnswer } = last as Awaited<ReturnType<typeof flood>>

  const shed = publishes.filter((publish) => publish.status === 503)
  t.same(shed.map((publish) => publish.retryAfter), shed.map(() => String(RETRY_AFTER_SECONDS)), 'every shed publish has Retry-After')
  t.same(shed[0]?.body, {
    statusCode: 503,
    error: 'Service Unavailable',
    message: `The bridge is overloaded; retry in ${RETRY_AFTER_SECONDS} seconds`,
    code: 'FST_UNDER_PRESSURE'
  })
  t.same(publishes.filter((publish) => publish.status !== 202 && publish.status !== 503), [], 'nothing else')
  t.match(pusher, { status: 503, retryAfter: String(RETRY_AFTER_SECONDS), body: { error: `The bridge is overloaded; retry in ${RETRY_AFTER_SECONDS} seconds` } },
    'the Pusher HTTP API is shed with its own error shape')
  t.match(healthAnswer, { status: 200, body: { status: 'ok' } }, '/health answers in the same flood')
  t.match(readyAnswer, { status: 200, body: { status: 'ready' } }, '/ready answers in the same flood')

  t.equal(metricValue(await scrape(url), 'bridge_shed_requests_total{reason="eventLoopTurn"}'), shed.length + 1, 'counted by reason')
})
