// Only publishers with a token (and, with signing on, a fresh valid signature for this very
// request) may publish, and a signed publish is accepted once (across a cluster:
// test/integration/plugins/app/publisher-auth-cluster.test.ts).
import t, { type Test } from 'tap'
import {
  postRaw,
  roomListener,
  nextEvent,
  secrets,
  securedEnv,
  signedHeaders,
  startBridge,
  type TestClient
} from '../../../helpers/bridge.ts'

const room = 'chat_auth'

/** A valid body for every publish route. */
const validBodies: Record<string, Record<string, unknown>> = {
  '/api/sms/new-message': { room, message: { text: 'hi' } },
  '/api/sms/edit-message': { room, message: { text: 'hi!' }, messageId: 1 },
  '/api/sms/reply-message': { room, message: { text: 're' }, replyTo: 1 },
  '/api/sms/delete-message': { room, messageId: 1 },
  '/api/sms/status-update': { room, messageId: 1, status: 'read' },
  '/api/sms/batch': { events: [{ type: 'new-message', room, message: { text: 'hi' } }] }
}

const listener = (t: Test, url: string) => roomListener(t, url, room)
const post = postRaw

function authHeader (token = secrets.apiToken) {
  return { authorization: `Bearer ${token}` }
}

/** Sends a signed, accepted event after the refusals: the socket must see it and nothing before it. */
async function assertNothingDelivered (t: Test, url: string, received: Array<{ event: string }>, socket: TestClient) {
  const body = JSON.stringify({ room, uuid: `sentinel-${Math.random()}`, message: { text: 'sentinel' } })
  const arrived = nextEvent(socket, 'new_message')
  t.equal((await post(url, '/api/sms/new-message', body, signedHeaders(body))).status, 202)
  t.match(await arrived, { message: { text: 'sentinel' } })
  t.equal(received.length, 1, 'only the accepted publish reached the room')
}

t.test('every publish route refuses a request without a token: 401 JSON, WWW-Authenticate, nothing emitted', async (t) => {
  const { url } = await startBridge(t, securedEnv())
  const { socket, received } = await listener(t, url)

  for (const [path, value] of Object.entries(validBodies)) {
    const body = JSON.stringify(value)
    const { authorization: _unused, ...unauthenticated } = signedHeaders(body, { url: path })
    const answer = await post(url, path, body, unauthenticated)
    t.equal(answer.status, 401, `${path} without a token`)
    t.equal(answer.headers.get('www-authenticate'), 'Bearer')
    t.same(answer.body, {
      statusCode: 401,
      error: 'Unauthorized',
      message: 'Authorization: Bearer <token> header is required',
      code: 'BRIDGE_UNAUTHORIZED'
    })
  }
  await assertNothingDelivered(t, url, received, socket)
})

t.test('a wrong, empty or non-Bearer token is refused with 401', async (t) => {
  const { url } = await startBridge(t, securedEnv())
  const body = JSON.stringify(validBodies['/api/sms/new-message'])
  const signed = signedHeaders(body)
  const wrong = {
    'another token': `Bearer ${secrets.apiToken}x`,
    'a prefix of the token': `Bearer ${secrets.apiToken.slice(0, -1)}`,
    'the signing secret': `Bearer ${secrets.signingSecret}`,
    'an empty bearer': 'Bearer ',
    'the Basic scheme': `Basic ${secrets.apiToken}`,
    'the token without scheme': secrets.apiToken,
    'the token followed by more': `Bearer ${secrets.apiToken} ${secrets.apiToken}`
  }
  for (const [what, authorization] of Object.entries(wrong)) {
    const answer = await post(url, '/api/sms/new-message', body, { ...signed, authorization })
    t.equal(answer.status, 401, what)
    t.equal(answer.body.code, 'BRIDGE_UNAUTHORIZED', what)
  }
})

t.test('both tokens of a rotation are accepted', async (t) => {
  const { url } = await startBridge(t, securedEnv())
  for (const token of [secrets.apiToken, secrets.apiTokenNext]) {
    const body = JSON.stringify({ ...validBodies['/api/sms/new-message'], uuid: token })
    const answer = await post(url, '/api/sms/new-message', body, { ...signedHeaders(body), ...authHeader(token) })
    t.equal(answer.status, 202)
  }
})

t.test('the token is checked before the body: an invalid body without token is a 401, not a 400', async (t) => {
  const { url } = await startBridge(t, securedEnv())
  t.equal((await post(url, '/api/sms/new-message', '{"room": 42', {})).status, 401)
  t.equal((await post(url, '/api/sms/new-message', '{"nonsense": true}', {})).status, 401)
})

t.test('request signing: a missing, stale, malformed or wrong signature is refused with 401', async (t) => {
  const { url } = await startBridge(t, securedEnv())
  const { socket, received } = await listener(t, url)

  const body = JSON.stringify(validBodies['/api/sms/new-message'])
  const now = Math.floor(Date.now() / 1000)
  const signed = signedHeaders(body)
  const cases: Record<string, Record<string, string>> = {
    'no timestamp': { ...authHeader(), 'x-bridge-signature': signed['x-bridge-signature'] },
    'no signature': { ...authHeader(), 'x-bridge-timestamp': signed['x-bridge-timestamp'] },
    'a timestamp 301 s old': signedHeaders(body, { timestamp: now - 301 }),
    // Sent some seconds after `now` on a busy machine, so ahead by more than the margin.
    'a timestamp 330 s ahead': signedHeaders(body, { timestamp: now + 330 }),
    'a timestamp that is not unix seconds': { ...signed, 'x-bridge-timestamp': new Date().toISOString() },
    'a signature made with another secret': signedHeaders(body, { secret: `${secrets.signingSecret}x` }),
    'a signature for another timestamp': { ...signed, 'x-bridge-timestamp': String(now - 1) },
    'a signature without its sha256= prefix': { ...signed, 'x-bridge-signature': signed['x-bridge-signature'].slice(7) },
    'an empty signature': { ...signed, 'x-bridge-signature': 'sha256=' }
  }
  for (const [what, headers] of Object.entries(cases)) {
    const answer = await post(url, '/api/sms/new-message', body, headers)
    t.equal(answer.status, 401, what)
    t.equal(answer.body.code, 'BRIDGE_BAD_SIGNATURE', what)
    t.equal(answer.headers.get('www-authenticate'), 'Bearer', what)
  }

  // The body changed after signing: same headers, one character different.
  const changed = JSON.stringify({ ...validBodies['/api/sms/new-message'], room: 'chat_autg' })
  const answer = await post(url, '/api/sms/new-message', changed, signed)
  t.equal(answer.status, 401, 'a body changed after signing')
  t.equal(answer.body.message, 'X-Bridge-Signature does not match the timestamp, method, path and query, and body')

  await assertNothingDelivered(t, url, received, socket)
})

t.test('request signing covers the exact bytes sent, whatever their formatting', async (t) => {
  const { url } = await startBridge(t, securedEnv())
  // Spacing, key order and \u escapes that a re-serialisation would not reproduce.
  const body = '{ "message" : { "text" : "\\u041f\\u0440\\u0438\\u0432\\u0435\\u0442 Привет" },\n  "room":"chat_auth" }'
  const answer = await post(url, '/api/sms/new-message', body, signedHeaders(body))
  t.equal(answer.status, 202)
  t.equal(answer.body.room, room)
  const now = Math.floor(Date.now() / 1000)
  const withinWindow = await post(url, '/api/sms/new-message', body, signedHeaders(body, { timestamp: now - 200 }))
  t.equal(withinWindow.status, 202, 'a timestamp 200 s old is within the window')
})

t.test('a signature is good for one method, path and query only: a signed body sent elsewhere is refused', async (t) => {
  const { url } = await startBridge(t, securedEnv())
  const { socket, received } = await listener(t, url)

  // An edit-message body (it carries every field delete-message needs) replayed to delete-message.
  const edit = JSON.stringify({ room, message: { text: 'edited' }, messageId: 7 })
  const editSigned = signedHeaders(edit, { url: '/api/sms/edit-message' })
  const toDelete = await post(url, '/api/sms/delete-message', edit, editSigned)
  t.equal(toDelete.status, 401, 'the edit body replayed to delete-message')
  t.equal(toDelete.body.code, 'BRIDGE_BAD_SIGNATURE')
  const withQuery = await post(url, '/api/sms/edit-message?x=1', edit, editSigned)
  t.equal(withQuery.status, 401, 'the same path with a query added')

  // A signed GET for one room is refused for another.
  const get = (path: string, headers: Record<string, string>) => fetch(`${url}${path}`, { headers })
  const forChat1 = signedHeaders('', { method: 'GET', url: '/api/rooms/chat_1' })
  t.equal((await get('/api/rooms/chat_1', forChat1)).status, 200, 'the room it was signed for')
  t.equal((await get('/api/rooms/chat_2', forChat1)).status, 401, 'another room')
  t.equal((await post(url, '/api/sms/edit-message', edit, signedHeaders(edit, { method: 'PUT', url: '/api/sms/edit-message' }))).status, 401,
    'signed for another method')

  await assertNothingDelivered(t, url, received, socket)
})

t.test('a signed publish is accepted once: a replay (even without uuid) is a 200 duplicate and emits nothing', async (t) => {
  const { url } = await startBridge(t, securedEnv())
  const { socket, received } = await listener(t, url)

  for (const [path, value] of Object.entries(validBodies)) {
    const body = JSON.stringify(value)
    const signed = signedHeaders(body, { url: path })
    const first = await post(url, path, body, signed)
    t.equal(first.status, 202, `${path}: first`)
    const replay = await post(url, path, body, signed)
    // A batch is answered 202 with one answer per item (the HTTP API), here each a duplicate.
    t.equal(replay.status, path === '/api/sms/batch' ? 202 : 200, `${path}: the replay is answered`)
    const answers = path === '/api/sms/batch' ? replay.body.results as Array<Record<string, unknown>> : [replay.body]
    for (const answer of answers) t.equal(answer.duplicate, true, `${path}: as a duplicate`)
  }
  const sentinel = JSON.stringify({ room, uuid: 'sentinel', message: { text: 'sentinel' } })
  const arrived = nextEvent(socket, 'new_message')
  t.equal((await post(url, '/api/sms/new-message', sentinel, signedHeaders(sentinel))).status, 202)
  await arrived
  t.equal(received.length, Object.keys(validBodies).length + 1, 'each signed publish was emitted once')
})

t.test('ops endpoints answer without a token', async (t) => {
  const { url } = await startBridge(t, securedEnv())
  for (const path of ['/health', '/docs/json', '/docs/']) {
    t.equal((await fetch(`${url}${path}`)).status, 200, path)
  }
})

t.test('open development mode: no secrets, no token needed', async (t) => {
  const { url } = await startBridge(t, { NODE_ENV: 'development' })
  const answer = await post(url, '/api/sms/new-message', JSON.stringify(validBodies['/api/sms/new-message']), {})
  t.equal(answer.status, 202)
})

t.test('development with only a signing secret enforces signing, not a token', async (t) => {
  const { url } = await startBridge(t, { NODE_ENV: 'development', BRIDGE_API_SIGNING_SECRET: 'short-dev-secret' })
  const body = JSON.stringify(validBodies['/api/sms/new-message'])
  t.equal((await post(url, '/api/sms/new-message', body, {})).status, 401, 'unsigned')
  const { authorization: _unused, ...signed } = signedHeaders(body, { secret: 'short-dev-secret' })
  t.equal((await post(url, '/api/sms/new-message', body, signed)).status, 202, 'signed, no token')
})

t.test('development with only a token enforces the token, not signing', async (t) => {
  const { url } = await startBridge(t, { NODE_ENV: 'development', BRIDGE_API_TOKEN: 'dev-token' })
  const body = JSON.stringify(validBodies['/api/sms/new-message'])
  t.equal((await post(url, '/api/sms/new-message', body, {})).status, 401, 'no token')
  t.equal((await post(url, '/api/sms/new-message', body, authHeader('dev-token'))).status, 202, 'token, unsigned')
})
