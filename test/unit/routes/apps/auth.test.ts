// Requests the Pusher SDKs would never send, signed by hand: every authentication failure is a
// 401 and every bad body or query a 4xx in Pusher's `{ "error" }` shape, never a 5xx, and
// neither the process nor any connected socket notices.
import t from 'tap'
import { connectClient, nextEvent, postJson, startBridge, subscribe } from '../../../helpers/bridge.ts'
import { pusherApp, pusherClient, pusherEnv, signedGet, signedPath, signedPost } from '../../../helpers/pusher.ts'

// Several bridges, Redis servers or PHP runs: more than the default 60 s on a machine busy with other suites.
t.setTimeout(180_000)

// The watcher's room `watched` is the channel private-watched.
const goodBody = JSON.stringify({ name: 'ping', data: '{"n":1}', channel: 'private-watched' })

t.test('authentication failures: 401 { error } naming the problem, before anything is delivered', async (t) => {
  const { url } = await startBridge(t, pusherEnv())
  const watcher = await connectClient(t, url)
  await subscribe(watcher, 'watched')
  let received = 0
  watcher.onAny(() => { received++ })

  const now = Math.floor(Date.now() / 1000)
  const cases: Array<[string, Promise<{ status: number, body: unknown }>, RegExp]> = [
    ['wrong key', signedPost(url, '/events', goodBody, { key: 'not-the-key' }), /auth_key/],
    ['wrong secret', signedPost(url, '/events', goodBody, { secret: 'not-the-secret' }), /signature/],
    ['wrong app id (signed for it)', signedPost(url, '/events', goodBody, { appId: 'other-app' }), /app id/],
    ['body hash of another body', signedPost(url, '/events', goodBody, { bodyMd5: '0'.repeat(32) }), /body_md5/],
    ['no body hash', signedPost(url, '/events', goodBody, { bodyMd5: null }), /body_md5/],
    ['timestamp 601 s old', signedPost(url, '/events', goodBody, { timestamp: now - 601 }), /Timestamp/],
    ['timestamp 700 s ahead', signedPost(url, '/events', goodBody, { timestamp: now + 700 }), /Timestamp/],
    ['GET with a wrong secret', signedGet(url, '/channels', {}, { secret: 'not-the-secret' }), /signature/],
    ['GET with a stale timestamp', signedGet(url, '/channels/watched', {}, { timestamp: now - 3600 }), /Timestamp/]
  ]
  for (const [name, request, message] of cases) {
    const { status, body } = await request
    t.equal(status, 401, name)
    t.match(body, { error: message }, `${name}: ${JSON.stringify(body)}`)
  }

  const unsigned = await fetch(`${url}/apps/${pusherApp.appId}/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: goodBody })
  t.equal(unsigned.status, 401, 'no signature at all')
  t.match(await unsigned.json(), { error: /required/ })

  // A signature is for one body: the same query with another body is refused.
  const path = signedPath('POST', '/events', goodBody)
  const swapped = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: goodBody.replace('ping', 'pong') })
  t.equal(swapped.status, 401, 'a body changed after signing')
  // …and for one path: the events signature does not open the batch route.
  const moved = await fetch(`${url}${path.replace('/events?', '/batch_events?')}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: goodBody })
  t.equal(moved.status, 401, 'a signature moved to another path')
  // …and for one query: an added parameter breaks it.
  const extended = await fetch(`${url}${path}&info=subscription_count`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: goodBody })
  t.equal(extended.status, 401, 'a parameter added after signing')

  const accepted = nextEvent(watcher, 'ping' as never)
  t.equal((await signedPost(url, '/events', goodBody)).status, 200, 'the same request, signed right')
  await accepted
  t.equal(received, 1, 'only the signed request was delivered')
})

t.test('bad bodies and queries: 4xx naming the problem, never 5xx; the process and the sockets are unharmed', async (t) => {
  const { url } = await startBridge(t, pusherEnv({ BRIDGE_BODY_LIMIT: '8192' }))
  const watcher = await connectClient(t, url)
  await subscribe(watcher, 'watched')
  let disconnected = false
  watcher.on('disconnect', () => { disconnected = true })
  const received: string[] = []
  watcher.onAny((event: string) => { received.push(event) })

  const event = (fields: Record<string, unknown>) => JSON.stringify({ name: 'ping', data: '{}', channel: 'private-watched', ...fields })
  const channels = (count: number) => Array.from({ length: count }, (_, index) => `c${index}`)
  const deep = JSON.stringify(Array.from({ length: 40 }).reduce<unknown>((inner) => ({ inner }), {}))
  const bodies: Array<[string, string, number, RegExp, string?]> = [
    ['channel with a space', event({ channel: 'bad channel' }), 400, /body\/channel/],
    ['channel with a slash', event({ channel: 'room/../x' }), 400, /body\/channel/],
    ['channel of 165 characters', event({ channel: 'c'.repeat(165) }), 400, /body\/channel/],
    ['empty channel', event({ channel: '' }), 400, /body\/channel/],
    ['one bad name among channels', JSON.stringify({ name: 'ping', data: '{}', channels: ['ok', 'not ok'] }), 400, /body\/channels\/1/],
    ['101 channels', JSON.stringify({ name: 'ping', data: '{}', channels: channels(101) }), 400, /body\/channels/],
    ['no channels', JSON.stringify({ name: 'ping', data: '{}', channels: [] }), 400, /body\/channels/],
    ['neither channel nor channels', JSON.stringify({ name: 'ping', data: '{}' }), 400, /channels is required/],
    ['both channel and channels', event({ channels: ['a'] }), 400, /not both/],
    ['missing name', JSON.stringify({ data: '{}', channel: 'private-watched' }), 400, /body\/name is required/],
    ['empty name', event({ name: '' }), 400, /body\/name/],
    ['name of 201 characters', event({ name: 'n'.repeat(201) }), 400, /body\/name/],
    ['missing data', JSON.stringify({ name: 'ping', channel: 'private-watched' }), 400, /body\/data is required/],
    ['data as an object, not a JSON string', event({ data: { n: 1 } }), 400, /body\/data/],
    ['data nesting 40 levels', event({ data: deep }), 400, /body\/data nests deeper than 32/],
    ['socket_id not <digits>.<digits>', event({ socket_id: 'abc' }), 400, /body\/socket_id/],
    ['socket_id naming a room', event({ socket_id: 'room/private-watched' }), 400, /body\/socket_id/],
    ['body that is a JSON string', '"just a string"', 400, /body/],
    ['body that is a JSON array', '[]', 400, /body/],
    ['body that is null', 'null', 400, /body/],
    ['malformed JSON', '{"name":', 400, /not valid JSON/],
    ['empty body', '', 400, /empty/],
    ['__proto__ in the body', '{"__proto__":{"x":1},"name":"ping","data":"{}","channel":"private-watched"}', 400, /./],
    ['body past BRIDGE_BODY_LIMIT', event({ data: 'x'.repeat(9000) }), 413, /./],
    ['form-encoded body', 'name=ping&data=%7B%7D&channel=private-watched', 415, /Content-Type/, 'application/x-www-form-urlencoded'],
    ['text body', goodBody, 415, /Content-Type/, 'text/plain']
  ]
  for (const [name, body, status, message, contentType] of bodies) {
    const answer = await signedPost(url, '/events', body, {}, contentType)
    t.equal(answer.status, status, `${name}: ${answer.text}`)
    t.match(answer.body, { error: message }, `${name}: Pusher's error shape`)
  }

  const batch = (items: unknown[]) => JSON.stringify({ batch: items })
  const item = { channel: 'private-watched', name: 'ping', data: '{}' }
  const batches: Array<[string, string, RegExp]> = [
    ['empty batch', batch([]), /body\/batch/],
    ['101 items', batch(Array.from({ length: 101 }, () => item)), /body\/batch/],
    ['an item without channel', batch([item, { name: 'ping', data: '{}' }]), /body\/batch\/1\/channel is required/],
    ['an item with a bad channel', batch([{ ...item, channel: 'no way' }]), /body\/batch\/0\/channel/],
    ['an item nesting 40 levels', batch([item, { ...item, data: deep }]), /body\/batch\/1\/data nests deeper/],
    ['no batch', JSON.stringify({ events: [item] }), /body\/batch is required/]
  ]
  for (const [name, body, message] of batches) {
    const answer = await signedPost(url, '/batch_events', body)
    t.equal(answer.status, 400, `${name}: ${answer.text}`)
    t.match(answer.body, { error: message }, name)
  }

  const queries: Array<[string, string, Record<string, string>, RegExp]> = [
    ['channel info of a bad name', '/channels/bad%20name', {}, /params\/channel/],
    ['user_count of a public channel', '/channels/watched', { info: 'user_count' }, /presence/],
    ['users of a public channel', '/channels/watched/users', {}, /presence/],
    ['user_count without the presence prefix', '/channels', { info: 'user_count' }, /presence/]
  ]
  for (const [name, path, params, message] of queries) {
    const answer = await signedGet(url, path, params)
    t.equal(answer.status, 400, `${name}: ${answer.text}`)
    t.match(answer.body, { error: message }, name)
  }

  t.same(received, [], 'none of them delivered anything')
  const alive = nextEvent(watcher, 'ping' as never)
  t.equal((await pusherClient(url).trigger('private-watched', 'ping', {})).status, 200, 'the bridge still publishes')
  await alive
  t.equal((await postJson(url, '/api/sms/new-message', { room: 'watched', message: {} })).status, 202, 'and section 1 still works')
  t.notOk(disconnected, 'the socket stayed connected throughout')
  t.equal((await fetch(`${url}/health`)).status, 200)
})

t.test('the signature covers the path as sent: channel names with Pusher\'s punctuation are signed and read back', async (t) => {
  const { url } = await startBridge(t, pusherEnv())
  const client = await connectClient(t, url)
  await subscribe(client, 'a-b_c.d:e@f')
  const pusher = pusherClient(url)
  const response = await pusher.get({ path: '/channels/private-a-b_c.d:e@f', params: { info: 'subscription_count' } })
  t.equal(response.status, 200)
  t.same(await response.json(), { occupied: true, subscription_count: 1 })
})
