// GET /metrics: Prometheus text whose counters and gauges follow what the bridge did.
import t from 'tap'
import { buildApp, connectClient, metricValue, postJson, startBridge, subscribe, waitFor } from '../../helpers/bridge.ts'

async function scrape (url: string): Promise<string> {
  const response = await fetch(`${url}/metrics`)
  return await response.text()
}

t.test('counters and gauges move with publishes, duplicates, sockets and subscriptions', async (t) => {
  const { url } = await startBridge(t, { BRIDGE_MAX_ROOMS_PER_SOCKET: '2' })
  const alice = await connectClient(t, url)
  const bob = await connectClient(t, url)
  await subscribe(alice, 'room_a')
  await subscribe(alice, 'room_b')
  await subscribe(bob, 'room_a')
  t.match(await subscribe(alice, 'room_c'), { ok: false, error: { code: 'TOO_MANY_ROOMS' } })
  t.match(await subscribe(bob, 'bad room'), { ok: false, error: { code: 'INVALID_ROOM' } })

  await postJson(url, '/api/sms/new-message', { room: 'room_a', message: {}, uuid: 'm-1' })
  await postJson(url, '/api/sms/new-message', { room: 'room_a', message: {}, uuid: 'm-1' })
  await postJson(url, '/api/sms/status-update', { room: 'room_b', messageId: 1, status: 'read' })
  await postJson(url, '/api/sms/new-message', { room: 'room_a' })
  await fetch(`${url}/no/such/route`)

  const response = await fetch(`${url}/metrics`)
  t.equal(response.status, 200)
  t.match(response.headers.get('content-type'), /^text\/plain; version=0\.0\.4/)
  const metrics = await response.text()
  const expected: Record<string, number> = {
    'bridge_events_published_total{event="new_message",source="api"}': 1,
    'bridge_events_published_total{event="status_update",source="api"}': 1,
    'bridge_duplicate_publishes_total{event="new_message",source="api"}': 1,
    'bridge_http_requests_total{method="POST",route="/api/sms/new-message",status_code="202"}': 1,
    'bridge_http_requests_total{method="POST",route="/api/sms/new-message",status_code="200"}': 1,
    'bridge_http_requests_total{method="POST",route="/api/sms/new-message",status_code="400"}': 1,
    'bridge_http_requests_total{method="POST",route="/api/sms/status-update",status_code="202"}': 1,
    'bridge_http_requests_total{method="GET",route="unmatched",status_code="404"}': 1,
    'bridge_http_request_duration_seconds_count{method="POST",route="/api/sms/new-message",status_code="202"}': 1,
    bridge_http_requests_in_flight: 1,
    bridge_socket_connections: 2,
    bridge_subscriptions: 3,
    bridge_rooms: 2,
    'bridge_subscribe_refusals_total{code="TOO_MANY_ROOMS"}': 1,
    'bridge_subscribe_refusals_total{code="INVALID_ROOM"}': 1,
    bridge_overloaded: 0
  }
  for (const [sample, value] of Object.entries(expected)) t.equal(metricValue(metrics, sample), value, sample)

  // A bridge alone reads no shared bus: never behind, nothing to reconnect to.
  for (const name of ['bridge_backplane_lag_seconds', 'bridge_backplane_reconnects_total', 'bridge_backplane_events_read_total', 'bridge_recovery_unrecoverable_total']) {
    t.match(metrics, new RegExp(`^${name} 0$`, 'm'), `${name} is exported`)
  }
  t.match(metrics, /^bridge_backplane_shards_read 1$/m, 'a bridge alone reads its one bus whole')
  for (const name of ['bridge_event_loop_delay_seconds', 'bridge_event_loop_utilization', 'nodejs_eventloop_lag_seconds', 'process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes']) {
    // A sample interval in which the loop never turned reads as +Inf (a valid exposition value).
    t.match(metrics, new RegExp(`^${name} (\\d|\\+Inf)`, 'm'), `${name} is exported`)
  }

  bob.disconnect()
  await waitFor(async () => metricValue(await scrape(url), 'bridge_socket_connections') === 1, 'the server to see the disconnect')
  const after = await scrape(url)
  t.equal(metricValue(after, 'bridge_subscriptions'), 2, 'a closed socket\'s subscriptions are gone')
})

t.test('each bridge has its own registry: two in one process do not mix their counts', async (t) => {
  const first = await buildApp(t)
  const second = await buildApp(t)
  await first.inject({ method: 'POST', url: '/api/sms/new-message', payload: { room: 'r', message: {} } })
  const count = async (fastify: typeof first) =>
    metricValue((await fastify.inject({ method: 'GET', url: '/metrics' })).body, 'bridge_events_published_total{event="new_message",source="api"}')
  t.equal(await count(first), 1)
  t.equal(await count(second), 0)
})

t.test('BRIDGE_METRICS_TOKEN: /metrics requires it as a bearer token; without it /metrics is open', async (t) => {
  const token = 'metrics-token-0123456789abcdef0123456789abcdef'
  const secured = await buildApp(t, { BRIDGE_METRICS_TOKEN: token })
  const scrapeWith = (authorization?: string) => secured.inject({ method: 'GET', url: '/metrics', headers: authorization === undefined ? {} : { authorization } })
  t.equal((await scrapeWith(`Bearer ${token}`)).statusCode, 200, 'the token')
  for (const [what, authorization] of Object.entries({
    none: undefined,
    'another token': `Bearer ${token}x`,
    'a prefix of it': `Bearer ${token.slice(0, -1)}`,
    'without Bearer': token
  })) {
    const answer = await scrapeWith(authorization)
    t.equal(answer.statusCode, 401, what)
    t.match(answer.json(), { statusCode: 401, message: /BRIDGE_METRICS_TOKEN/ }, what)
    t.notMatch(answer.body, token, `${what}: the token is not echoed`)
  }
  t.equal((await secured.inject({ method: 'GET', url: '/health' })).statusCode, 200, '/health stays open')

  const open = await buildApp(t)
  t.equal((await open.inject({ method: 'GET', url: '/metrics' })).statusCode, 200, 'open without the variable')
})
