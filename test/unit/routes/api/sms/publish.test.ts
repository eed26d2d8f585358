// The five single-event publish routes: answers, validation and error shapes (via inject).
import t from 'tap'
import { buildApp } from '../../../../helpers/bridge.ts'

const valid = {
  'new-message': { room: 'chat_123', message: { id: 1, text: 'Привет!' } },
  'edit-message': { room: 'chat_123', message: { id: 1, text: 'edited' }, messageId: 1 },
  'reply-message': { room: 'chat_123', message: { id: 2, text: 'reply' }, replyTo: 'msg-1' },
  'delete-message': { room: 'chat_123', messageId: 'msg-1' },
  'status-update': { room: 'chat_123', messageId: 7, status: 'read' }
} as const

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

t.test('each route accepts a valid body with 202 and names its socket.io event', async (t) => {
  const fastify = await buildApp(t)
  for (const [kind, body] of Object.entries(valid)) {
    const response = await fastify.inject({ method: 'POST', url: `/api/sms/${kind}`, payload: { ...body, uuid: `${kind}-1` } })
    t.equal(response.statusCode, 202, kind)
    t.same(response.json(), { ok: true, event: kind.replace('-', '_'), room: 'chat_123', uuid: `${kind}-1` }, kind)
  }
})

t.test('a missing uuid is generated as a v4 UUID and returned', async (t) => {
  const fastify = await buildApp(t)
  const first = await fastify.inject({ method: 'POST', url: '/api/sms/new-message', payload: valid['new-message'] })
  const second = await fastify.inject({ method: 'POST', url: '/api/sms/new-message', payload: valid['new-message'] })
  t.equal(first.statusCode, 202)
  t.match(first.json().uuid, UUID_V4)
  t.equal(second.statusCode, 202, 'a generated uuid is never a duplicate')
  t.not(first.json().uuid, second.json().uuid)
})

t.test('delete-message accepts the optional message', async (t) => {
  const fastify = await buildApp(t)
  const response = await fastify.inject({
    method: 'POST',
    url: '/api/sms/delete-message',
    payload: { ...valid['delete-message'], message: { deletedBy: 42 } }
  })
  t.equal(response.statusCode, 202)
})

t.test('a missing required field is a 400 naming it', async (t) => {
  const fastify = await buildApp(t)
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['new-message', { message: {} }, 'body/room is required'],
    ['new-message', { room: 'chat_1' }, 'body/message is required'],
    ['edit-message', { room: 'chat_1', message: {} }, 'body/messageId is required'],
    ['reply-message', { room: 'chat_1', message: {} }, 'body/replyTo is required'],
    ['delete-message', { room: 'chat_1' }, 'body/messageId is required'],
    ['status-update', { room: 'chat_1', messageId: 1 }, 'body/status is required']
  ]
  for (const [kind, body, message] of cases) {
    const response = await fastify.inject({ method: 'POST', url: `/api/sms/${kind}`, payload: body })
    t.equal(response.statusCode, 400, `${kind} ${message}`)
    t.same(response.json(), { statusCode: 400, error: 'Bad Request', message, code: 'FST_ERR_VALIDATION' })
  }
})

t.test('field rules are enforced, each with a 400 naming the field', async (t) => {
  const fastify = await buildApp(t)
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['new-message', { room: '', message: {} }, /^body\/room /],
    ['new-message', { room: 'chat 123', message: {} }, /^body\/room is invalid/],
    ['new-message', { room: 'x'.repeat(129), message: {} }, /^body\/room /],
    ['new-message', { room: 'chat/1', message: {} }, /^body\/room /],
    ['new-message', { room: 123, message: {} }, /^body\/room must be string/],
    ['new-message', { room: 'chat_1', message: 'hello' }, /^body\/message must be object/],
    ['new-message', { room: 'chat_1', message: [1] }, /^body\/message must be object/],
    ['new-message', { room: 'chat_1', message: {}, uuid: '' }, /^body\/uuid /],
    ['new-message', { room: 'chat_1', message: {}, uuid: 'u'.repeat(129) }, /^body\/uuid /],
    ['edit-message', { room: 'chat_1', message: {}, messageId: -1 }, /^body\/messageId is invalid/],
    ['edit-message', { room: 'chat_1', message: {}, messageId: 1.5 }, /^body\/messageId is invalid/],
    ['edit-message', { room: 'chat_1', message: {}, messageId: '' }, /^body\/messageId is invalid/],
    ['reply-message', { room: 'chat_1', message: {}, replyTo: 'r'.repeat(129) }, /^body\/replyTo is invalid/],
    ['status-update', { room: 'chat_1', messageId: 1, status: '' }, /^body\/status /],
    ['status-update', { room: 'chat_1', messageId: 1, status: 's'.repeat(65) }, /^body\/status /]
  ]
  for (const [kind, body, message] of cases) {
    const response = await fastify.inject({ method: 'POST', url: `/api/sms/${kind}`, payload: body })
    t.equal(response.statusCode, 400, `${kind} ${JSON.stringify(body).slice(0, 60)}`)
    t.match(response.json().message, message)
  }
})

t.test('room accepts every allowed character, up to 128 of them', async (t) => {
  const fastify = await buildApp(t)
  for (const room of ['A-Z_a-z.0-9:@', 'r'.repeat(128), 'user@example.com', 'team:42.chat-7']) {
    const response = await fastify.inject({ method: 'POST', url: '/api/sms/new-message', payload: { room, message: {} } })
    t.equal(response.statusCode, 202, room)
  }
})

t.test('an unknown top-level field is a 400 naming it (almost always a typo)', async (t) => {
  const fastify = await buildApp(t)
  const response = await fastify.inject({
    method: 'POST',
    url: '/api/sms/new-message',
    payload: { room: 'chat_1', message: {}, mesage: {} }
  })
  t.equal(response.statusCode, 400)
  t.equal(response.json().message, 'body/mesage is not an allowed field')
})

t.test('malformed JSON is a 400 in Fastify\'s error shape', async (t) => {
  const fastify = await buildApp(t)
  const response = await fastify.inject({
    method: 'POST',
    url: '/api/sms/new-message',
    headers: { 'content-type': 'application/json' },
    payload: '{"room": "chat_1", '
  })
  t.equal(response.statusCode, 400)
  t.match(response.headers['content-type'], /application\/json/)
  t.same(response.json(), { statusCode: 400, error: 'Bad Request', message: 'body is not valid JSON', code: 'FST_ERR_CTP_INVALID_JSON_BODY' })
})

t.test('a JSON body that is not an object is a 400', async (t) => {
  const fastify = await buildApp(t)
  for (const payload of ['[]', '"text"', '42', 'null']) {
    const response = await fastify.inject({
      method: 'POST',
      url: '/api/sms/new-message',
      headers: { 'content-type': 'application/json' },
      payload
    })
    t.equal(response.statusCode, 400, payload)
    t.match(response.json(), { statusCode: 400, error: 'Bad Request' })
  }
})

t.test('an empty body is a 400', async (t) => {
  const fastify = await buildApp(t)
  const response = await fastify.inject({
    method: 'POST',
    url: '/api/sms/new-message',
    headers: { 'content-type': 'application/json' },
    payload: ''
  })
  t.equal(response.statusCode, 400)
  t.equal(response.json().statusCode, 400)
})

t.test('a body that is not JSON is a 415', async (t) => {
  const fastify = await buildApp(t)
  for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
    const response = await fastify.inject({
      method: 'POST',
      url: '/api/sms/new-message',
      headers: { 'content-type': contentType },
      payload: 'room=chat_1'
    })
    t.equal(response.statusCode, 415, contentType)
    t.same(response.json(), {
      statusCode: 415,
      error: 'Unsupported Media Type',
      message: 'Content-Type must be application/json',
      code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
    })
  }
})

t.test('a body larger than BRIDGE_BODY_LIMIT is a 413', async (t) => {
  const fastify = await buildApp(t, { BRIDGE_BODY_LIMIT: '2048' })
  const small = await fastify.inject({ method: 'POST', url: '/api/sms/new-message', payload: { room: 'chat_1', message: { text: 'x'.repeat(1500) } } })
  t.equal(small.statusCode, 202, 'under the limit passes')
  const large = await fastify.inject({ method: 'POST', url: '/api/sms/new-message', payload: { room: 'chat_1', message: { text: 'x'.repeat(3000) } } })
  t.equal(large.statusCode, 413)
  t.match(large.json(), { statusCode: 413, error: 'Payload Too Large', code: 'FST_ERR_CTP_BODY_TOO_LARGE' })
})

t.test('the default body limit is 65536 bytes', async (t) => {
  const fastify = await buildApp(t)
  const response = await fastify.inject({ method: 'POST', url: '/api/sms/new-message', payload: { room: 'chat_1', message: { text: 'x'.repeat(70_000) } } })
  t.equal(response.statusCode, 413)
})

t.test('an unknown route is a 404 in JSON', async (t) => {
  const fastify = await buildApp(t)
  for (const [method, url] of [['POST', '/api/sms/new-mesage'], ['GET', '/api/sms/new-message'], ['GET', '/nothing']] as const) {
    const response = await fastify.inject({ method, url })
    t.equal(response.statusCode, 404, `${method} ${url}`)
    t.match(response.headers['content-type'], /application\/json/)
    t.same(response.json(), { statusCode: 404, error: 'Not Found', message: `Route ${method}:${url} not found` })
  }
})

t.test('a prototype-polluting body is refused, not merged', async (t) => {
  const fastify = await buildApp(t)
  const response = await fastify.inject({
    method: 'POST',
    url: '/api/sms/new-message',
    headers: { 'content-type': 'application/json' },
    payload: '{"room":"chat_1","message":{},"__proto__":{"polluted":true}}'
  })
  t.equal(response.statusCode, 400)
  t.equal(({} as Record<string, unknown>).polluted, undefined)
})
