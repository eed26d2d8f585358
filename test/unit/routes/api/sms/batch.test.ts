// POST /api/sms/batch: whole-batch validation, answers in order, delivery in order.
import t from 'tap'
import { buildApp, connectClient, nextEvent, postJson, recordEvents, startBridge, subscribe } from '../../../../helpers/bridge.ts'

const items = [
  { type: 'new-message', room: 'chat_1', message: { id: 1, text: 'first' }, uuid: 'b-1' },
  { type: 'edit-message', room: 'chat_1', message: { id: 1, text: 'first, edited' }, messageId: 1, uuid: 'b-2' },
  { type: 'reply-message', room: 'chat_1', message: { id: 2, text: 'reply' }, replyTo: 1, uuid: 'b-3' },
  { type: 'status-update', room: 'chat_1', messageId: 2, status: 'read', uuid: 'b-4' },
  { type: 'delete-message', room: 'chat_1', messageId: 1, uuid: 'b-5' }
]

t.test('a batch answers 202 with one answer per item, in order', async (t) => {
  const fastify = await buildApp(t)
  const response = await fastify.inject({ method: 'POST', url: '/api/sms/batch', payload: { events: items } })
  t.equal(response.statusCode, 202)
  t.same(response.json(), {
    ok: true,
    results: items.map((item) => ({ ok: true, event: item.type.replace('-', '_'), room: 'chat_1', uuid: item.uuid }))
  })
})

t.test('subscribers receive each item as its own event, in order, without its type', async (t) => {
  const { url } = await startBridge(t)
  const client = await connectClient(t, url)
  await subscribe(client, 'chat_1')
  const received = recordEvents(client)
  const last = nextEvent(client, 'delete_message')

  const { status } = await postJson(url, '/api/sms/batch', { events: items })
  t.equal(status, 202)
  await last

  t.same(received, items.map(({ type, ...fields }) => ({ event: type.replace('-', '_'), data: fields })))
})

t.test('one invalid item refuses the whole batch and nothing is emitted', async (t) => {
  const { url } = await startBridge(t)
  const client = await connectClient(t, url)
  await subscribe(client, 'chat_1')
  const received = recordEvents(client)

  const events = [...items.slice(0, 3), { type: 'status-update', room: 'chat_1', messageId: 2 }]
  const { status, body } = await postJson(url, '/api/sms/batch', { events })
  t.equal(status, 400)
  t.equal(body.message, 'body/events/3/status is required')

  // A later, valid publish arrives first: nothing from the refused batch came before it.
  const marker = nextEvent(client, 'new_message')
  await postJson(url, '/api/sms/new-message', { room: 'chat_1', message: { text: 'marker' } })
  t.match(await marker, { message: { text: 'marker' } })
  t.equal(received.length, 1, 'only the marker arrived')
})

t.test('batch items are validated like their kind', async (t) => {
  const fastify = await buildApp(t)
  const cases: Array<[unknown, string | RegExp]> = [
    [{ events: [{ type: 'shout', room: 'chat_1' }] }, /^body\/events\/0\/type must be one of the event kinds \(new-message, edit-message, reply-message, delete-message, status-update\)$/],
    [{ events: [{ room: 'chat_1', message: {} }] }, /^body\/events\/0/],
    [{ events: [{ type: 'new-message', room: 'chat_1', message: {}, extra: 1 }] }, 'body/events/0/extra is not an allowed field'],
    [{ events: [{ type: 'edit-message', room: 'bad room', message: {}, messageId: 1 }] }, /^body\/events\/0\/room is invalid/],
    [{ events: [] }, /^body\/events must NOT have fewer than 1 items$/],
    [{ events: Array.from({ length: 101 }, () => ({ type: 'new-message', room: 'chat_1', message: {} })) }, /^body\/events must NOT have more than 100 items$/],
    [{}, 'body/events is required'],
    [{ events: items, room: 'chat_1' }, 'body/room is not an allowed field'],
    [{ events: 'new-message' }, /^body\/events must be array$/]
  ]
  for (const [payload, message] of cases) {
    const response = await fastify.inject({ method: 'POST', url: '/api/sms/batch', payload: payload as object })
    t.equal(response.statusCode, 400, JSON.stringify(payload).slice(0, 80))
    t.match(response.json(), { statusCode: 400, error: 'Bad Request', message })
  }
})

t.test('100 items are accepted', async (t) => {
  const fastify = await buildApp(t)
  const events = Array.from({ length: 100 }, (_, i) => ({ type: 'new-message', room: `chat_${i}`, message: { i } }))
  const response = await fastify.inject({ method: 'POST', url: '/api/sms/batch', payload: { events } })
  t.equal(response.statusCode, 202)
  t.equal(response.json().results.length, 100)
})
