// examples/laravel's RealtimeBridge, run by PHP on Laravel's own HTTP client against a running
// bridge: what it publishes reaches a socket.io client, its tokens open connections and rooms,
// a wrong token is Laravel's RequestException 401, and a retried publish is delivered once.
import { spawn, spawnSync } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import {
  connectClient,
  nextEvent,
  recordEvents,
  refusedConnection,
  secrets,
  securedEnv,
  startBridge,
  subscribe,
  type TestClient
} from '../../helpers/bridge.ts'
import { connectEcho, type EchoClient } from '../../helpers/echo.ts'

const runner = fileURLToPath(new URL('../../fixtures/php/realtime-bridge.php', import.meta.url))

/** Why the PHP tests cannot run here, or false when PHP, curl and Debian's Laravel are present. */
function phpMissing (): string | false {
  const probe = spawnSync('php', ['-r', 'exit(is_file("/usr/share/php/Illuminate/autoload.php") && ' +
    'is_file("/usr/share/php/GuzzleHttp/autoload.php") && extension_loaded("curl") ? 0 : 3);'])
  if (probe.error !== undefined) return 'php is not installed (apt-get install php-cli php-curl php-laravel-framework php-guzzlehttp-guzzle)'
  if (probe.status !== 0) return 'php-curl, php-laravel-framework or php-guzzlehttp-guzzle is missing (apt-get install them)'
  return false
}

const skip = phpMissing()
if (skip !== false) t.comment(`skipping the Laravel tests: ${skip}`)

t.setTimeout(240_000)

interface LaravelConfig {
  url: string
  token?: string
  jwt_secret?: string
  signing_secret?: string
  retries?: number
  retry_sleep_ms?: number
}

type CallResult =
  | { ok: true, result: unknown }
  | { ok: false, exception: string, status?: number, body?: unknown, message?: string }

/**
 * Runs RealtimeBridge calls in one PHP process: [{ method, args }] → one result per call.
 * With `{ env }`, the configuration is the example's config/services.php reading that environment.
 */
async function laravel (
  config: LaravelConfig | { env: Record<string, string> },
  calls: Array<{ method: string, args: Record<string, unknown> }>
): Promise<CallResult[]> {
  const fromFile = 'env' in config
  const php = spawn('php', [runner], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: fromFile ? { PATH: process.env.PATH ?? '', ...config.env } : { PATH: process.env.PATH ?? '' }
  })
  let stdout = ''
  let stderr = ''
  php.stdout.on('data', (chunk: Buffer) => { stdout += chunk })
  php.stderr.on('data', (chunk: Buffer) => { stderr += chunk })
  php.stdin.end(JSON.stringify({ config: fromFile ? 'services.php' : { retry_sleep_ms: 50, ...config }, calls }))
  const code = await new Promise<number | null>((resolve) => php.once('close', resolve))
  if (code !== 0) throw new Error(`php exited ${code}: ${stderr}${stdout}`)
  return JSON.parse(stdout) as CallResult[]
}

async function laravelOne (config: LaravelConfig, method: string, args: Record<string, unknown>): Promise<CallResult> {
  const [result] = await laravel(config, [{ method, args }])
  return result as CallResult
}

/** Resolves once `received` holds `count` events. */
function untilReceived (socket: TestClient, received: unknown[], count: number, ms = 15_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.offAny(check)
      reject(new Error(`${received.length} of ${count} events within ${ms} ms`))
    }, ms)
    function check () {
      if (received.length < count) return
      clearTimeout(timer)
      socket.offAny(check)
      resolve()
    }
    socket.onAny(check)
    check()
  })
}

interface ProxiedRequest { method: string, url: string, headers: IncomingHttpHeaders, body: string }

/**
 * An HTTP hop in front of the bridge that records every request and can lose answers: the first
 * `loseAnswers` requests reach the bridge, then the connection drops before the answer gets back.
 */
async function startProxy (t: Test, target: string, loseAnswers = 0): Promise<{ url: string, requests: ProxiedRequest[] }> {
  const requests: ProxiedRequest[] = []
  let toLose = loseAnswers
  const server = createServer(async (request, response) => {
    const chunks: Buffer[] = []
    for await (const chunk of request) chunks.push(chunk as Buffer)
    const body = Buffer.concat(chunks)
    const { method = 'GET', url = '/', headers } = request
    requests.push({ method, url, headers, body: body.toString('utf8') })
    const forwarded = Object.fromEntries(Object.entries(headers)
      .filter(([name]) => !['host', 'connection', 'content-length', 'transfer-encoding', 'expect'].includes(name))
      .map(([name, value]) => [name, String(value)]))
    const answer = await fetch(`${target}${url}`, { method, headers: forwarded, body: method === 'GET' ? undefined : body })
    const payload = Buffer.from(await answer.arrayBuffer())
    if (toLose > 0) {
      toLose--
      request.socket.destroy()
      return
    }
    response.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' })
    response.end(payload)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  }))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests }
}

const laravelConfig = (url: string): LaravelConfig => ({
  url,
  token: secrets.apiToken,
  jwt_secret: secrets.jwtSecret,
  signing_secret: secrets.signingSecret
})

t.test('every kind published through Laravel\'s HTTP client reaches a socket connected with a Laravel-minted token', { skip }, async (t) => {
  const { url } = await startBridge(t, securedEnv())
  // Configured as the example says: config/services.php reading Laravel's .env.
  const config = {
    env: {
      BRIDGE_URL: url,
      BRIDGE_API_TOKEN: secrets.apiToken,
      BRIDGE_JWT_SECRET: secrets.jwtSecret,
      BRIDGE_API_SIGNING_SECRET: secrets.signingSecret
    }
  }
  const [connection, roomGrant] = await laravel(config, [
    { method: 'connectionToken', args: { userId: 42, rooms: ['chat_*'] } },
    { method: 'roomToken', args: { userId: 42, room: 'support_7' } }
  ])
  t.match(connection, { ok: true, result: /^[\w-]+\.[\w-]+\.[\w-]+$/ }, 'connectionToken is a JWT')
  const socket = await connectClient(t, url, { auth: { token: (connection as { result: string }).result } })
  t.same(await subscribe(socket, 'chat_laravel'), { ok: true, room: 'chat_laravel' }, 'the rooms claim opens chat_*')
  t.same(await subscribe(socket, 'support_7', (roomGrant as { result: string }).result), { ok: true, room: 'support_7' },
    'roomToken opens a room outside the rooms claim')
  const received = recordEvents(socket)

  const room = 'chat_laravel'
  const message = { id: 1, text: 'Привет из Laravel!', from: 42, tags: ['важно'] }
  const results = await laravel(config, [
    { method: 'newMessage', args: { room, message, uuid: 'laravel-new-1' } },
    { method: 'editMessage', args: { room, messageId: 1, message: { id: 1, text: 'Привет всем!' } } },
    { method: 'replyMessage', args: { room, replyTo: 1, message: { id: 2, text: 'Hi' } } },
    { method: 'statusUpdate', args: { room, messageId: 'm-2', status: 'read' } },
    { method: 'deleteMessage', args: { room, messageId: 2 } },
    { method: 'deleteMessage', args: { room: 'support_7', messageId: 1, message: {} } },
    {
      method: 'batch',
      args: {
        events: [
          { type: 'new-message', room, message: { id: 3, text: 'в пакете' } },
          { type: 'status-update', room, messageId: 3, status: 'delivered', uuid: 'laravel-batch-2' }
        ]
      }
    }
  ])
  t.equal(results.length, 7)
  for (const result of results) t.equal(result.ok, true, JSON.stringify(result))
  const answers = results.map((result) => (result as { result: Record<string, unknown> }).result)
  t.same(answers[0], { ok: true, event: 'new_message', room, uuid: 'laravel-new-1' }, 'the bridge\'s answer comes back')
  for (const answer of answers.slice(1, 6)) t.match(answer, { ok: true, uuid: /^[0-9a-f-]{36}$/ }, 'a uuid is made when none is given')
  const batch = answers[6] as { results: Array<{ uuid: string }> }
  t.match(batch.results[0]?.uuid, /^[0-9a-f-]{36}$/, 'batch items get a uuid too')
  t.equal(batch.results[1]?.uuid, 'laravel-batch-2')

  await untilReceived(socket, received, 8)
  const uuid = (index: number) => (answers[index] as { uuid: string }).uuid
  t.same(received, [
    { event: 'new_message', data: { room, message, uuid: 'laravel-new-1' } },
    { event: 'edit_message', data: { room, messageId: 1, message: { id: 1, text: 'Привет всем!' }, uuid: uuid(1) } },
    { event: 'reply_message', data: { room, replyTo: 1, message: { id: 2, text: 'Hi' }, uuid: uuid(2) } },
    { event: 'status_update', data: { room, messageId: 'm-2', status: 'read', uuid: uuid(3) } },
    { event: 'delete_message', data: { room, messageId: 2, uuid: uuid(4) } },
    { event: 'delete_message', data: { room: 'support_7', messageId: 1, message: {}, uuid: uuid(5) } },
    { event: 'new_message', data: { room, message: { id: 3, text: 'в пакете' }, uuid: batch.results[0]?.uuid } },
    { event: 'status_update', data: { room, messageId: 3, status: 'delivered', uuid: 'laravel-batch-2' } }
  ], 'each event arrives once, in order, exactly as Laravel sent it plus its uuid')
})

t.test('a wrong token or signing secret is Laravel\'s RequestException 401, not retried, and delivers nothing', { skip }, async (t) => {
  const { url } = await startBridge(t, securedEnv())
  const proxy = await startProxy(t, url)
  const token = (await laravelOne(laravelConfig(url), 'connectionToken', { userId: 1, rooms: ['chat_1'] }) as { result: string }).result
  const socket = await connectClient(t, url, { auth: { token } })
  await subscribe(socket, 'chat_1')
  const received = recordEvents(socket)

  const wrongToken = { ...laravelConfig(proxy.url), token: 'not-the-token-0123456789abcdef0123456789', retries: 3 }
  const refused = await laravelOne(wrongToken, 'newMessage', { room: 'chat_1', message: { text: 'nope' } })
  t.match(refused, {
    ok: false,
    exception: 'Illuminate\\Http\\Client\\RequestException',
    status: 401,
    body: { statusCode: 401, error: 'Unauthorized', message: 'the bearer token is not valid' }
  })
  t.equal(proxy.requests.length, 1, 'a 401 is not retried')

  const wrongSecret = { ...laravelConfig(proxy.url), signing_secret: 'not-the-secret-0123456789abcdef0123456789' }
  t.match(await laravelOne(wrongSecret, 'statusUpdate', { room: 'chat_1', messageId: 1, status: 'read' }), {
    ok: false, exception: 'Illuminate\\Http\\Client\\RequestException', status: 401
  })

  // Published after the refused ones: had they been emitted, they would arrive before it.
  const marker = nextEvent(socket, 'new_message')
  t.match(await laravelOne(laravelConfig(url), 'newMessage', { room: 'chat_1', message: { text: 'marker' } }), { ok: true })
  await marker
  t.same(received.map(({ data }) => (data as { message: unknown }).message), [{ text: 'marker' }], 'nothing from the refused publishes')
})

t.test('a publish whose answer is lost is retried with the same uuid and delivered once', { skip }, async (t) => {
  const { url } = await startBridge(t, securedEnv())
  const proxy = await startProxy(t, url, 1)
  const config = laravelConfig(url)
  const token = (await laravelOne(config, 'connectionToken', { userId: 1, rooms: ['chat_retry'] }) as { result: string }).result
  const socket = await connectClient(t, url, { auth: { token } })
  await subscribe(socket, 'chat_retry')
  const received = recordEvents(socket)

  const result = await laravelOne({ ...config, url: proxy.url, retries: 3 }, 'newMessage', {
    room: 'chat_retry',
    message: { id: 7, text: 'однажды' }
  })
  t.match(result, { ok: true, result: { ok: true, event: 'new_message', room: 'chat_retry', duplicate: true } },
    'the retry is answered as a duplicate')
  t.equal(proxy.requests.length, 2, 'Laravel sent it twice')
  t.equal(proxy.requests[1]?.body, proxy.requests[0]?.body, 'with the same body, uuid included')
  const sentUuid = (JSON.parse(proxy.requests[0]?.body ?? '{}') as { uuid?: string }).uuid
  t.equal((result as { result: { uuid: string } }).result.uuid, sentUuid)

  const marker = nextEvent(socket, 'status_update')
  await laravelOne(config, 'statusUpdate', { room: 'chat_retry', messageId: 7, status: 'read' })
  await marker
  t.same(received.map(({ event }) => event), ['new_message', 'status_update'], 'the message arrived once')
})

t.test('minted tokens: an expired one is refused, a missing secret is a clear error', { skip }, async (t) => {
  const { url } = await startBridge(t, securedEnv())
  const [expired, noSecret] = await laravel(laravelConfig(url), [
    { method: 'connectionToken', args: { userId: 5, rooms: ['chat_5'], ttl: -60 } },
    { method: 'connectionToken', args: { userId: 5 } }
  ])
  t.equal(await refusedConnection(t, url, { auth: { token: (expired as { result: string }).result } }), 'unauthorized')
  t.match(noSecret, { ok: true }, 'a token without a rooms claim is still a token')
  const [missing] = await laravel({ url, token: secrets.apiToken }, [
    { method: 'roomToken', args: { userId: 5, room: 'chat_5' } }
  ])
  t.match(missing, { ok: false, exception: 'LogicException', message: /jwt_secret is not set/ })
})

t.test('roomInfo reads GET /api/rooms/{room}', { skip }, async (t) => {
  const { url } = await startBridge(t, securedEnv({ BRIDGE_API_SIGNING_SECRET: '' }))
  const config = { ...laravelConfig(url), signing_secret: '' }
  const token = (await laravelOne(config, 'connectionToken', { userId: 9, rooms: ['chat_info'] }) as { result: string }).result
  const socket = await connectClient(t, url, { auth: { token } })
  await subscribe(socket, 'chat_info')
  t.match(await laravelOne(config, 'roomInfo', { room: 'chat_info' }), {
    ok: true,
    result: { room: 'chat_info', subscribers: 1, users: 1 }
  })
  t.match(await laravelOne(config, 'roomInfo', { room: 'chat_nobody' }), {
    ok: true,
    result: { room: 'chat_nobody', subscribers: 0, users: 0 }
  })
})

t.test('connectionToken\'s userInfo is what Echo\'s presence channels show (tokens mode)', { skip }, async (t) => {
  const { url } = await startBridge(t, securedEnv({ BRIDGE_API_SIGNING_SECRET: '' }))
  const config = { ...laravelConfig(url), signing_secret: '' }
  const [ann, bob, plain] = (await laravel(config, [
    { method: 'connectionToken', args: { userId: 1, rooms: ['presence-room.*'], userInfo: { name: 'Ann' } } },
    { method: 'connectionToken', args: { userId: 2, rooms: ['presence-room.*'], userInfo: { name: 'Bob' } } },
    { method: 'connectionToken', args: { userId: 3, rooms: ['presence-room.*'] } }
  ])).map((result) => (result as { result: string }).result)
  const here = (echo: EchoClient) => new Promise<unknown[]>((resolve) => { echo.join('room.1').here(resolve) })
  const annEcho = await connectEcho(t, url, { bearerToken: ann })
  t.same(await here(annEcho), [{ name: 'Ann' }], 'here(): the user_info Laravel put in the token')
  const joining = new Promise((resolve) => { annEcho.join('room.1').joining(resolve) })
  t.same(await here(await connectEcho(t, url, { bearerToken: bob })), [{ name: 'Ann' }, { name: 'Bob' }])
  t.same(await joining, { name: 'Bob' })
  const plainMembers = await here(await connectEcho(t, url, { bearerToken: plain }))
  t.same(plainMembers, [{ name: 'Ann' }, { name: 'Bob' }, {}], 'no userInfo: {} (a JSON object, never an array)')
})

const snippetRunner = fileURLToPath(new URL('../../fixtures/php/testing-snippet.php', import.meta.url))

/** The README's AppServiceProvider binding and its "Testing your app" snippet, exactly as documented. */
async function readmeTestingCode (): Promise<{ binding: string, snippet: string }> {
  const readme = await readFile(new URL('../../../examples/laravel/README.md', import.meta.url), 'utf8')
  const binding = /```php\n(use App\\Services\\RealtimeBridge;[\s\S]*?public function register\(\)[\s\S]*?\n})\n```/.exec(readme)?.[1]
  const snippet = /## Testing your app[\s\S]*?```php\n([\s\S]*?)```/.exec(readme)?.[1]
  if (binding === undefined || snippet === undefined) throw new Error('examples/laravel/README.md: the binding or the "Testing your app" snippet is missing')
  return { binding, snippet }
}

/** Runs the snippet with `act` in place of its `// ... act ...` line. */
async function runTestingSnippet (act: string): Promise<{ ok: boolean, exception?: string, message?: string }> {
  const php = spawn('php', [snippetRunner], { stdio: ['pipe', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  php.stdout.on('data', (chunk: Buffer) => { stdout += chunk })
  php.stderr.on('data', (chunk: Buffer) => { stderr += chunk })
  php.stdin.end(JSON.stringify({ ...await readmeTestingCode(), act }))
  const code = await new Promise<number | null>((resolve) => php.once('close', resolve))
  if (code !== 0) throw new Error(`php exited ${code}: ${stderr}${stdout}`)
  return JSON.parse(stdout)
}

t.test('the README\'s "Testing your app" snippet: Http::fake() reaches the RealtimeBridge singleton (Laravel 8.83)', { skip }, async (t) => {
  const bridge = '\\Illuminate\\Container\\Container::getInstance()->make(\\App\\Services\\RealtimeBridge::class)'
  // The singleton was built before the fake: the fake still answers, and the request is recorded.
  t.same(await runTestingSnippet(`${bridge}->newMessage('chat_1', ['id' => 1, 'text' => 'hi']);`), { ok: true })
  // The snippet's assertion fails when the app sent nothing, or sent to another room.
  t.match(await runTestingSnippet(''), { ok: false, exception: 'PHPUnit\\Framework\\AssertionFailedError' })
  t.match(await runTestingSnippet(`${bridge}->newMessage('chat_2', ['id' => 1]);`), { ok: false, exception: 'PHPUnit\\Framework\\AssertionFailedError' })
})
