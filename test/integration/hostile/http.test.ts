// Hostile input on the HTTP side, thrown at the real server process in production mode:
// 5000-deep publishes, deep and wide JSON on every publish route (property-based), prototype
// poisoning keys, trickled bodies and headers. Each answer is checked, and after each attack
// the process is alive, a subscribed socket.io client still gets a normal publish, and the
// process stays under a memory bound. Bounded in count and time; only against 127.0.0.1.
import { once } from 'node:events'
import { connect as connectTcp } from 'node:net'
import fc from 'fast-check'
import t, { type Test } from 'tap'
import {
  connectClient,
  freePort,
  metricValue,
  nextEvent,
  secrets,
  signedHeaders,
  socketToken,
  startServer,
  subscribe,
  type TestClient
} from '../../helpers/bridge.ts'
import { pusherEnv, signedPost } from '../../helpers/pusher.ts'

// A real server process on a machine shared with other tests.
t.setTimeout(240_000)

/** The most memory (resident set) the bridge may use through the whole file. */
const RSS_BOUND_BYTES = 512 * 1024 * 1024
const BODY_LIMIT = 65536
const REQUEST_TIMEOUT_MS = 2000
const METRICS_TOKEN = 'hostile-metrics-token-0123456789abcdef0123'
const room = 'hostile_ok'

/** Each /api publish route, and how to put a free-form `message` into a valid body of it. */
const apiRoutes: Record<string, (message: string) => string> = {
  '/api/sms/new-message': (message) => `{"room":"r_1","message":${message}}`,
  '/api/sms/edit-message': (message) => `{"room":"r_1","messageId":1,"message":${message}}`,
  '/api/sms/reply-message': (message) => `{"room":"r_1","replyTo":"m-1","message":${message}}`,
  '/api/sms/delete-message': (message) => `{"room":"r_1","messageId":1,"message":${message}}`,
  '/api/sms/batch': (message) => `{"events":[{"type":"status-update","room":"r_1","messageId":1,"status":"read"},{"type":"new-message","room":"r_1","message":${message}}]}`
}
/** The Pusher HTTP API's publish routes: the free-form JSON is `data`, a JSON string. */
const pusherRoutes: Record<string, (data: string) => string> = {
  '/events': (data) => JSON.stringify({ name: 'hostile', channel: 'r_1', data }),
  '/batch_events': (data) => JSON.stringify({ batch: [{ name: 'fine', channel: 'r_1', data: '{}' }, { name: 'hostile', channel: 'r_1', data }] })
}

/** An object (or array, or both alternating) nested `depth` levels deep, as JSON text: no recursion. */
function nested (depth: number, shape: 'object' | 'array' | 'mixed'): string {
  if (shape === 'object') return '{"a":'.repeat(depth - 1) + '{}' + '}'.repeat(depth - 1)
  if (shape === 'array') return '{"a":' + '['.repeat(depth - 1) + '1' + ']'.repeat(depth - 1) + '}'
  // Objects and arrays alternating: {"a":[{"a":[...]}]}
  let text = '{"a":'
  let closing = '}'
  for (let level = 2; level <= depth; level++) {
    if (level % 2 === 0) {
      text += '['
      closing = ']' + closing
    } else {
      text += '{"a":'
      closing = '}' + closing
    }
  }
  return text + '1' + closing
}

/** An object with `width` members (or one array of `width` items). */
function wide (width: number, shape: 'object' | 'array'): string {
  if (shape === 'array') return `{"a":[${Array.from({ length: width }, (_unused, index) => index).join(',')}]}`
  return `{${Array.from({ length: width }, (_unused, index) => `"k${index}":${index}`).join(',')}}`
}

interface Bridge {
  url: string
  port: number
  alive: () => boolean
  client: TestClient
}

async function startHostileBridge (t: Test): Promise<Bridge> {
  const port = await freePort()
  const server = startServer({
    NODE_ENV: 'production',
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    BRIDGE_API_TOKEN: secrets.apiToken,
    BRIDGE_API_SIGNING_SECRET: secrets.signingSecret,
    BRIDGE_JWT_SECRET: secrets.jwtSecret,
    BRIDGE_METRICS_TOKEN: METRICS_TOKEN,
    BRIDGE_BODY_LIMIT: String(BODY_LIMIT),
    BRIDGE_REQUEST_TIMEOUT: String(REQUEST_TIMEOUT_MS),
    CORS_ORIGINS: 'https://app.example.com',
    ...pusherEnv() as Record<string, string>
  })
  t.teardown(() => { server.child.kill('SIGKILL') })
  await server.logLine('Server listening')
  const url = `http://127.0.0.1:${port}`
  const client = await connectClient(t, url, { auth: { token: socketToken({ sub: 'watcher', rooms: [room] }) } })
  t.same(await subscribe(client, room), { ok: true, room })
  return { url, port, client, alive: () => server.child.exitCode === null && server.child.signalCode === null }
}

async function signedPublish (url: string, path: string, body: string) {
  const response = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...signedHeaders(body, { url: path }) },
    body
  })
  const text = await response.text()
  return { status: response.status, body: JSON.parse(text) as Record<string, unknown> }
}

/** After an attack: the process lives, a normal publish reaches the client, memory is bounded. */
async function stillServing (t: Test, bridge: Bridge, what: string): Promise<void> {
  t.ok(bridge.alive(), `${what}: the process is alive`)
  const uuid = `after-${what}-${Math.random()}`
  const arrived = nextEvent(bridge.client, 'new_message', 10_000)
  const answer = await signedPublish(bridge.url, '/api/sms/new-message', JSON.stringify({ room, uuid, message: { text: 'normal' } }))
  t.equal(answer.status, 202, `${what}: a normal publish is accepted`)
  t.match(await arrived, { uuid }, `${what}: and reaches the subscribed client`)
  const metrics = await (await fetch(`${bridge.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text()
  const rss = metricValue(metrics, 'process_resident_memory_bytes')
  t.ok(rss > 0 && rss < RSS_BOUND_BYTES, `${what}: RSS ${Math.round(rss / 1048576)} MB stays under ${RSS_BOUND_BYTES / 1048576} MB`)
}

t.test('hostile HTTP input against the production server', async (t) => {
  const bridge = await startHostileBridge(t)
  const { url } = bridge

  await t.test('a 5000-deep message (50 KB, under the body limit) on every publish route: 400 naming the field', async (t) => {
    const deep = nested(5000, 'object')
    for (const [path, bodyOf] of Object.entries(apiRoutes)) {
      const answer = await signedPublish(url, path, bodyOf(deep))
      t.equal(answer.status, 400, path)
      t.match(answer.body, { statusCode: 400, code: 'INVALID_PAYLOAD', message: /^body\/(events\/1\/)?message nests deeper than 32 levels$/ }, path)
    }
    for (const [path, bodyOf] of Object.entries(pusherRoutes)) {
      const answer = await signedPost(url, path, bodyOf(deep))
      t.equal(answer.status, 400, path)
      t.match(answer.body, { error: /data nests deeper than 32 levels/ }, path)
    }
    await stillServing(t, bridge, 'the 5000-deep publishes')
  })

  await t.test('deep JSON, any shape, on every publish route: 32 levels accepted, more refused with a 400, never a 5xx', async (t) => {
    let accepted = 0
    let refused = 0
    await fc.assert(fc.asyncProperty(
      fc.constantFrom(...Object.keys(apiRoutes), ...Object.keys(pusherRoutes)),
      fc.oneof(fc.integer({ min: 1, max: 32 }), fc.integer({ min: 33, max: 6000 })),
      fc.constantFrom<'object' | 'array' | 'mixed'>('object', 'array', 'mixed'),
      async (path, depth, shape) => {
        const value = nested(depth, shape)
        const answer = path.startsWith('/api/')
          ? await signedPublish(url, path, (apiRoutes[path] as (message: string) => string)(value))
          : await signedPost(url, path, (pusherRoutes[path] as (data: string) => string)(value))
        const expected = depth <= 32 ? [200, 202] : [400]
        if (!expected.includes(answer.status)) throw new Error(`${path}, depth ${depth} (${shape}): ${answer.status} ${JSON.stringify(answer.body)}`)
        const message = JSON.stringify(answer.body)
        if (depth > 32 && !/nests deeper than 32 levels/.test(message)) throw new Error(`${path}, depth ${depth}: the answer does not say so: ${message}`)
        if (depth > 32 && path.startsWith('/api/') && (answer.body as { code?: string }).code !== 'INVALID_PAYLOAD') throw new Error(`${path}, depth ${depth}: code ${message}`)
        if (depth <= 32) accepted++
        else refused++
      }
    ), { numRuns: 80 })
    t.ok(accepted > 0 && refused > 0, `both sides of the limit were tried (${accepted} accepted, ${refused} refused)`)
    await stillServing(t, bridge, 'deep JSON')
  })

  await t.test('wide JSON on every publish route: accepted under the body limit, 413 past it, never a 5xx', async (t) => {
    let tooLarge = 0
    await fc.assert(fc.asyncProperty(
      fc.constantFrom(...Object.keys(apiRoutes), ...Object.keys(pusherRoutes)),
      fc.integer({ min: 1, max: 20_000 }),
      fc.constantFrom<'object' | 'array'>('object', 'array'),
      async (path, width, shape) => {
        const value = wide(width, shape)
        const body = path.startsWith('/api/')
          ? (apiRoutes[path] as (message: string) => string)(value)
          : (pusherRoutes[path] as (data: string) => string)(value)
        const answer = path.startsWith('/api/') ? await signedPublish(url, path, body) : await signedPost(url, path, body)
        const expected = Buffer.byteLength(body) > BODY_LIMIT ? 413 : (answer.status === 200 ? 200 : 202)
        if (answer.status !== expected) throw new Error(`${path}, width ${width} (${shape}), ${Buffer.byteLength(body)} bytes: ${answer.status}`)
        if (expected === 413) tooLarge++
      }
    ), { numRuns: 60 })
    t.ok(tooLarge > 0, `some bodies were past the limit (${tooLarge})`)
    await stillServing(t, bridge, 'wide JSON')
  })

  await t.test('prototype-poisoning keys: a 400 saying which key is refused, on /api and the Pusher API', async (t) => {
    const cases: Record<string, [string, RegExp]> = {
      '__proto__ at the top': ['{"room":"r_1","message":{},"__proto__":{"polluted":true}}', /^body\/__proto__ is not allowed/],
      '__proto__ in the message': ['{"room":"r_1","message":{"a":{"__proto__":{"polluted":true}}}}', /^body\/message\/a\/__proto__ is not allowed/],
      '__proto__ spelled with escapes': ['{"room":"r_1","message":{"\\u005f_proto__":{"polluted":true}}}', /^body\/message\/__proto__ is not allowed/],
      'constructor.prototype': ['{"room":"r_1","message":{"constructor":{"prototype":{"polluted":true}}}}', /^body\/message\/constructor is not allowed/]
    }
    for (const [what, [body, message]] of Object.entries(cases)) {
      const answer = await signedPublish(url, '/api/sms/new-message', body)
      t.equal(answer.status, 400, what)
      t.match(answer.body, { code: 'INVALID_PAYLOAD', message }, what)
      t.notMatch(String(answer.body.message), /not valid JSON/, `${what}: says what is wrong`)
    }
    const pusher = await signedPost(url, '/events', '{"__proto__":{"x":1},"name":"ping","data":"{}","channel":"r_1"}')
    t.equal(pusher.status, 400)
    t.match(pusher.body, { error: /__proto__ is not allowed/ })
    t.equal(({} as Record<string, unknown>).polluted, undefined)
    await stillServing(t, bridge, 'poisoning keys')
  })

  await t.test('a trickled body or trickled headers: the connection is answered 408 and closed before the trickle ends', async (t) => {
    const body = JSON.stringify({ room, message: { text: 'x'.repeat(100) } })
    const headers = signedHeaders(body)
    const requests = {
      'a body, with a valid token and signature': 'POST /api/sms/new-message HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
        `Authorization: ${headers.authorization}\r\nX-Bridge-Timestamp: ${headers['x-bridge-timestamp']}\r\n` +
        `X-Bridge-Signature: ${headers['x-bridge-signature']}\r\nContent-Length: ${body.length}\r\n\r\n`,
      'a body, without a token': `POST /api/sms/new-message HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
      headers: ''
    }
    const TRICKLE_BYTES = 60
    for (const [what, head] of Object.entries(requests)) {
      const socket = connectTcp(bridge.port, '127.0.0.1')
      t.teardown(() => { socket.destroy() })
      let received = ''
      socket.on('data', (chunk: Buffer) => { received += chunk })
      socket.on('error', () => {})
      const closed = once(socket, 'close')
      await once(socket, 'connect')
      // Trickled: the whole head at once (or, for `headers`, a request line and then header bytes).
      socket.write(head === '' ? 'POST /api/sms/new-message HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ' : head)
      let sent = 0
      const state = { open: true }
      closed.then(() => { state.open = false }, () => {})
      while (state.open && sent < TRICKLE_BYTES) {
        socket.write(head === '' ? 'a' : (body[sent] ?? ' '))
        sent++
        await new Promise((resolve) => setTimeout(resolve, 250))
      }
      t.notOk(state.open, `${what}: closed by the bridge before ${TRICKLE_BYTES} trickled bytes`)
      if (what !== 'a body, without a token') t.match(received, /^HTTP\/1\.1 408/, `${what}: answered 408`)
      else t.match(received, /^HTTP\/1\.1 (401|408)/, `${what}: refused`)
    }
    await stillServing(t, bridge, 'trickled requests')
  })
})
