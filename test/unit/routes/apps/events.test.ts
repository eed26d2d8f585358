// The Pusher HTTP API's publish side, driven by the official Pusher server SDK for Node (it
// signs as Laravel's PHP SDK does): triggers and batches for private-R reach room
// subscribers of room R (one channel), `data` decoded, and the answers are Pusher's.
import t from 'tap'
import { buildApp, captureLogs, connectClient, metricValue, nextEvent, recordEvents, startBridge, subscribe, type TestClient } from '../../../helpers/bridge.ts'
import { pusherClient, pusherEnv } from '../../../helpers/pusher.ts'

// Several bridges, Redis servers or PHP runs: more than the default 60 s on a machine busy with other suites.
t.setTimeout(180_000)

/** Resolves with the next event of any name the socket receives, as (name, data). */
function nextAny (socket: TestClient, ms = 5000): Promise<{ event: string, data: unknown }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no event within ${ms} ms`)), ms)
    const listener = (event: string, data: unknown) => {
      clearTimeout(timer)
      socket.offAny(listener)
      resolve({ event, data })
    }
    socket.onAny(listener)
  })
}

t.test('trigger: an event of any name reaches the channel\'s subscribers with its data decoded, and answers {}', async (t) => {
  const { url } = await startBridge(t, pusherEnv())
  const [first, second, elsewhere] = await Promise.all([connectClient(t, url), connectClient(t, url), connectClient(t, url)])
  await subscribe(first, 'orders.1')
  await subscribe(second, 'orders.1')
  await subscribe(elsewhere, 'orders.2')
  const seenElsewhere = recordEvents(elsewhere)

  const toFirst = nextAny(first)
  const toSecond = nextAny(second)
  const response = await pusherClient(url).trigger('private-orders.1', 'App\\Events\\OrderShipped', { order: { id: 1, total: '9.90' }, note: 'Привет' })
  t.equal(response.status, 200)
  t.same(await response.json(), {})
  t.same(await toFirst, { event: 'App\\Events\\OrderShipped', data: { order: { id: 1, total: '9.90' }, note: 'Привет' } })
  t.same(await toSecond, { event: 'App\\Events\\OrderShipped', data: { order: { id: 1, total: '9.90' }, note: 'Привет' } })

  // A later event on orders.2 arriving first-and-only proves orders.1's did not go there.
  const marker = nextAny(elsewhere)
  await pusherClient(url).trigger('private-orders.2', '.marker', {})
  await marker
  t.same(seenElsewhere.map(({ event }) => event), ['.marker'], 'another channel\'s subscriber got only its own event')
})

t.test('trigger to several channels: each channel\'s subscribers get it once', async (t) => {
  const { url } = await startBridge(t, pusherEnv())
  const a = await connectClient(t, url)
  const both = await connectClient(t, url)
  await subscribe(a, 'news')
  await subscribe(both, 'news')
  await subscribe(both, 'sport')
  const seenByBoth = recordEvents(both)

  const toA = nextAny(a)
  const response = await pusherClient(url).trigger(['private-news', 'private-sport'], 'headline', { title: 'hi' })
  t.equal(response.status, 200)
  t.same(await toA, { event: 'headline', data: { title: 'hi' } })
  // One event per channel: a socket in both channels gets it once for each (as Pusher does).
  const marker = nextEvent(both, 'new_message')
  await fetch(`${url}/api/sms/new-message`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ room: 'news', message: {} }) })
  await marker
  t.same(seenByBoth.map(({ event }) => event), ['headline', 'headline', 'new_message'])
})

t.test('data that is not JSON of an object or array is delivered as the string it is', async (t) => {
  const { url } = await startBridge(t, pusherEnv())
  const client = await connectClient(t, url)
  await subscribe(client, 'raw')
  const pusher = pusherClient(url)
  for (const data of ['plain text', '42', 'null', '"quoted"', '{not json', '']) {
    const received = nextAny(client)
    const response = await pusher.trigger('private-raw', 'text', data)
    t.equal(response.status, 200, JSON.stringify(data))
    t.same(await received, { event: 'text', data }, `${JSON.stringify(data)} as given`)
  }
  const list = nextAny(client)
  await pusher.trigger('private-raw', 'list', [1, { two: 2 }])
  t.same(await list, { event: 'list', data: [1, { two: 2 }] }, 'a JSON array is decoded')
})

t.test('triggerBatch: every item to its channel, in order, answered one {} per item', async (t) => {
  const { url } = await startBridge(t, pusherEnv())
  const client = await connectClient(t, url)
  await subscribe(client, 'chat.1')
  await subscribe(client, 'chat.2')
  const seen = recordEvents(client)
  const last = new Promise<void>((resolve) => client.on('done' as never, () => resolve()))

  const response = await pusherClient(url).triggerBatch([
    { channel: 'private-chat.1', name: 'message', data: { n: 1 } },
    { channel: 'private-chat.2', name: 'message', data: { n: 2 } },
    { channel: 'private-chat.1', name: 'typing', data: JSON.stringify({ n: 3 }) },
    { channel: 'private-chat.2', name: 'done', data: {} }
  ])
  t.equal(response.status, 200)
  t.same(await response.json(), { batch: [{}, {}, {}, {}] })
  await last
  t.same(seen.map(({ event, data }) => [event, data]), [
    ['message', { n: 1 }],
    ['message', { n: 2 }],
    ['typing', { n: 3 }],
    ['done', {}]
  ])
})

t.test('info asks for the channels\' attributes after the publish', async (t) => {
  const { url } = await startBridge(t, pusherEnv())
  const [a, b] = await Promise.all([connectClient(t, url), connectClient(t, url)])
  await subscribe(a, 'counted')
  await subscribe(b, 'counted')
  const pusher = pusherClient(url)
  const single = await pusher.trigger(['private-counted', 'private-empty'], 'ping', {}, { info: 'subscription_count' })
  t.same(await single.json(), { channels: { 'private-counted': { subscription_count: 2 }, 'private-empty': { subscription_count: 0 } } })
  const batch = await pusher.triggerBatch([
    { channel: 'private-counted', name: 'ping', data: {}, info: 'subscription_count' },
    { channel: 'private-counted', name: 'ping', data: {} }
  ])
  t.same(await batch.json(), { batch: [{ subscription_count: 2 }, {}] })
})

t.test('a publish is counted with its source and logged once per channel, the same way as /api publishes', async (t) => {
  const logs = captureLogs()
  const { url } = await startBridge(t, pusherEnv({ LOG_LEVEL: 'info' }), { logStream: logs.stream })
  await pusherClient(url).trigger(['m.1', 'm.2'], 'App\\Events\\Metered', { secret: 'payload stays out of the log' })
  await fetch(`${url}/api/sms/new-message`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ room: 'm.1', message: {} }) })

  const metrics = await (await fetch(`${url}/metrics`)).text()
  t.equal(metricValue(metrics, 'bridge_events_published_total{event="App\\\\Events\\\\Metered",source="pusher"}'), 2)
  t.equal(metricValue(metrics, 'bridge_events_published_total{event="new_message",source="api"}'), 1)
  t.equal(metricValue(metrics, 'bridge_http_requests_total{method="POST",route="/apps/:app_id/events",status_code="200"}'), 1)

  const published = logs.lines.filter((line) => line.msg === 'published')
  t.match(published, [
    { event: 'App\\Events\\Metered', room: 'm.1', source: 'pusher', reqId: /^req-/ },
    { event: 'App\\Events\\Metered', room: 'm.2', source: 'pusher' },
    { event: 'new_message', room: 'm.1' }
  ])
  t.notOk(logs.lines.some((line) => JSON.stringify(line).includes('payload stays out')), 'no payload in the log')
})

t.test('event names are bounded as metric labels: past the first ones they count as other', async (t) => {
  const fastify = await buildApp(t, pusherEnv())
  const names = Array.from({ length: 101 }, (_, index) => `event-${index}`)
  for (const name of names) await fastify.publisher.publish([{ channel: 'c', event: name, payload: {} }], fastify.log, 'pusher')
  await fastify.publisher.publish([{ channel: 'c', event: 'event-0', payload: {} }], fastify.log, 'pusher')
  const metrics = (await fastify.inject({ method: 'GET', url: '/metrics' })).body
  t.equal(metricValue(metrics, 'bridge_events_published_total{event="event-0",source="pusher"}'), 2, 'a name seen early keeps its label')
  t.equal(metricValue(metrics, 'bridge_events_published_total{event="event-99",source="pusher"}'), 1)
  t.equal(metricValue(metrics, 'bridge_events_published_total{event="event-100",source="pusher"}'), 0)
  t.equal(metricValue(metrics, 'bridge_events_published_total{event="other",source="pusher"}'), 1, 'the 101st name is other')
})

t.test('without a Pusher app there is no Pusher API: 404, and nothing about it in the docs', async (t) => {
  const fastify = await buildApp(t)
  const response = await fastify.inject({ method: 'POST', url: '/apps/bridge-app/events', payload: { name: 'x', data: '{}', channel: 'c' } })
  t.equal(response.statusCode, 404)
  const document = (await fastify.inject({ method: 'GET', url: '/docs/json' })).json() as { paths: Record<string, unknown> }
  t.notOk(Object.keys(document.paths).some((path) => path.startsWith('/apps/')))
})
