// Safe retries and traceable logs: a retried publish is answered 200 `duplicate: true` and
// reaches subscribers once; each publish logs its uuid with the request id.
import t from 'tap'
import { buildApp, captureLogs, connectClient, nextEvent, postJson, recordEvents, startBridge, subscribe } from '../../../helpers/bridge.ts'

const kinds = {
  'new-message': { room: 'chat_retry', message: { id: 1, text: 'hi' } },
  'edit-message': { room: 'chat_retry', message: { id: 1, text: 'hi!' }, messageId: 1 },
  'reply-message': { room: 'chat_retry', message: { id: 2, text: 'yes' }, replyTo: 1 },
  'delete-message': { room: 'chat_retry', messageId: 1 },
  'status-update': { room: 'chat_retry', messageId: 2, status: 'read' }
} as const

t.test('a retried publish on each route is answered 200 duplicate and delivered once', async (t) => {
  const { url } = await startBridge(t)
  const client = await connectClient(t, url)
  await subscribe(client, 'chat_retry')
  const received = recordEvents(client)

  for (const [kind, body] of Object.entries(kinds)) {
    const uuid = `retry-${kind}`
    const event = kind.replace('-', '_')
    const first = await postJson(url, `/api/sms/${kind}`, { ...body, uuid })
    t.equal(first.status, 202, `${kind} first attempt`)
    t.same(first.body, { ok: true, event, room: 'chat_retry', uuid })
    for (const attempt of [2, 3]) {
      const retry = await postJson(url, `/api/sms/${kind}`, { ...body, uuid })
      t.equal(retry.status, 200, `${kind} attempt ${attempt}`)
      t.same(retry.body, { ok: true, event, room: 'chat_retry', uuid, duplicate: true })
    }
  }
  // Events of one room arrive in order: once the marker is here, any duplicate would be too.
  const marker = nextEvent(client, 'new_message')
  await postJson(url, '/api/sms/new-message', { room: 'chat_retry', message: { marker: true }, uuid: 'marker' })
  await marker
  t.same(received.map(({ event, data }) => `${event}:${(data as { uuid: string }).uuid}`), [
    ...Object.keys(kinds).map((kind) => `${kind.replace('-', '_')}:retry-${kind}`),
    'new_message:marker'
  ], 'each uuid delivered exactly once')
})

t.test('retried batch items are answered duplicate and not emitted again', async (t) => {
  const { url } = await startBridge(t)
  const client = await connectClient(t, url)
  await subscribe(client, 'chat_batch')
  const received = recordEvents(client)
  const item = (uuid: string) => ({ type: 'new-message', room: 'chat_batch', message: { uuid }, uuid })

  const first = await postJson(url, '/api/sms/batch', { events: [item('b-1'), item('b-2')] })
  t.equal(first.status, 202)
  t.notOk((first.body.results as Array<{ duplicate?: true }>).some((result) => result.duplicate))

  // The queue job retries the whole batch with one more item, and one repeated inside it.
  const retry = await postJson(url, '/api/sms/batch', { events: [item('b-1'), item('b-2'), item('b-3'), item('b-3')] })
  t.equal(retry.status, 202)
  t.same(retry.body.results, [
    { ok: true, event: 'new_message', room: 'chat_batch', uuid: 'b-1', duplicate: true },
    { ok: true, event: 'new_message', room: 'chat_batch', uuid: 'b-2', duplicate: true },
    { ok: true, event: 'new_message', room: 'chat_batch', uuid: 'b-3' },
    { ok: true, event: 'new_message', room: 'chat_batch', uuid: 'b-3', duplicate: true }
  ])
  const single = await postJson(url, '/api/sms/new-message', { room: 'chat_batch', message: {}, uuid: 'b-2' })
  t.equal(single.status, 200, 'a uuid accepted in a batch is a duplicate on a single route too')

  const marker = nextEvent(client, 'status_update')
  await postJson(url, '/api/sms/status-update', { room: 'chat_batch', messageId: 1, status: 'read', uuid: 'marker' })
  await marker
  t.same(received.map(({ data }) => (data as { uuid: string }).uuid), ['b-1', 'b-2', 'b-3', 'marker'])
})

t.test('BRIDGE_IDEMPOTENCY_TTL=0 turns de-duplication off', async (t) => {
  const fastify = await buildApp(t, { BRIDGE_IDEMPOTENCY_TTL: '0' })
  const body = { ...kinds['new-message'], uuid: 'same' }
  for (let attempt = 0; attempt < 2; attempt++) {
    const response = await fastify.inject({ method: 'POST', url: '/api/sms/new-message', payload: body })
    t.equal(response.statusCode, 202)
  }
})

t.test('a publish that failed to emit gives its uuid back, so its retry is delivered', async (t) => {
  const fastify = await buildApp(t)
  const deliver = fastify.transport.deliver
  fastify.transport.deliver = async () => { throw new Error('transport unavailable') }
  const payload = { ...kinds['new-message'], uuid: 'fails-once' }
  const failed = await fastify.inject({ method: 'POST', url: '/api/sms/new-message', payload })
  t.equal(failed.statusCode, 500)
  fastify.transport.deliver = deliver
  const retried = await fastify.inject({ method: 'POST', url: '/api/sms/new-message', payload })
  t.equal(retried.statusCode, 202, 'not a duplicate: nothing had been sent')
})

t.test('log lines carry the publish uuid and the X-Request-Id of the request', async (t) => {
  const logs = captureLogs()
  const fastify = await buildApp(t, { LOG_LEVEL: 'info' }, { logStream: logs.stream })
  const payload = { ...kinds['new-message'], uuid: 'order-42-message' }
  const headers = { 'x-request-id': 'laravel-7f3a' }
  await fastify.inject({ method: 'POST', url: '/api/sms/new-message', payload, headers })
  await fastify.inject({ method: 'POST', url: '/api/sms/new-message', payload, headers: { 'x-request-id': 'laravel-7f3b' } })
  await fastify.inject({ method: 'POST', url: '/api/sms/batch', payload: { events: [{ type: 'new-message', ...kinds['new-message'], uuid: 'in-batch' }] } })

  // Only the publish lines: the open-mode warnings at start are not what this test is about.
  const publishLines = logs.lines.filter((line) => line.uuid !== undefined)
  t.match(publishLines, [
    { level: 30, msg: 'published', reqId: 'laravel-7f3a', uuid: 'order-42-message', event: 'new_message', room: 'chat_retry' },
    { level: 30, msg: 'duplicate publish ignored', reqId: 'laravel-7f3b', uuid: 'order-42-message', event: 'new_message' },
    { level: 30, msg: 'published', reqId: /^req-/, uuid: 'in-batch' }
  ])
})

t.test('an event that cannot be encoded: a 400 error, nothing of its batch delivered or claimed, the process unharmed', async (t) => {
  const { fastify, url } = await startBridge(t)
  const client = await connectClient(t, url)
  await subscribe(client, 'chat_encode')
  const received = recordEvents(client)
  const unhandled: unknown[] = []
  const onUnhandled = (reason: unknown) => { unhandled.push(reason) }
  process.on('unhandledRejection', onUnhandled)
  t.teardown(() => { process.off('unhandledRejection', onUnhandled) })

  // What no route lets through (a BigInt, a cycle), handed to the one delivery path directly.
  const cyclic: Record<string, unknown> = {}
  cyclic.self = cyclic
  for (const [what, payload] of Object.entries({ 'a BigInt': { n: 10n }, 'a cycle': cyclic })) {
    // Room chat_encode is the channel private-chat_encode.
    const batch = [
      { channel: 'private-chat_encode', event: 'new_message', payload: { fine: true }, uuid: `fine-${what}` },
      { channel: 'private-chat_encode', event: 'new_message', payload, uuid: `bad-${what}` }
    ]
    const error = await fastify.publisher.publish(batch, fastify.log).then(() => undefined, (reason: unknown) => reason)
    t.match(error, { statusCode: 400, code: 'BRIDGE_UNENCODABLE_EVENT', message: /event 1 cannot be encoded/ }, what)
    // The claims were given back: a retry with encodable payloads is delivered, not a duplicate.
    t.same(await fastify.publisher.publish([batch[0]!], fastify.log), ['published'], `${what}: the first item's uuid was released`)
  }
  const marker = nextEvent(client, 'new_message')
  await postJson(url, '/api/sms/new-message', { room: 'chat_encode', message: { marker: true }, uuid: 'marker' })
  await marker
  t.same(received.map(({ data }) => (data as { fine?: boolean, uuid?: string }).fine ?? (data as { uuid: string }).uuid),
    [true, true, 'marker'], 'only the retried items and the marker arrived: no half batch')
  t.same(unhandled, [], 'no unhandled rejection')
})
