// A publish whose body trickles in (one byte every 500 ms, from an authenticated publisher)
// while the real server process, in production mode, shuts down: it may not hold the hand-over
// of sockets past the short grace (docs/security.md#limits-and-timeouts). The trickled publish is answered 503
// and publishes nothing, the sockets go to another node and recover there, and the exit is 0.
import { once } from 'node:events'
import { connect as connectTcp, type Socket } from 'node:net'
import t from 'tap'
import {
  buildApp, connectClient, freePort, metricValue, nextEvent, recordEvents, secrets, signedHeaders, socketToken, startServer, subscribe, waitFor,
  type TestClient
} from '../../helpers/bridge.ts'
import { clusterEnv } from '../../helpers/redis.ts'

// A real server process and a second node on a machine shared with other tests.
t.setTimeout(180_000)

/** Shorter than the request timeout (30 s), which would otherwise end the trickle with a 408 first. */
const SHUTDOWN_TIMEOUT_MS = 20_000
const TRICKLE_EVERY_MS = 500
const room = 'chat_trickle'

t.test('a trickled publish during SIGTERM is answered 503 and publishes nothing; sockets are handed over, recover elsewhere, exit 0', async (t) => {
  const env = {
    BRIDGE_API_TOKEN: secrets.apiToken,
    BRIDGE_API_SIGNING_SECRET: secrets.signingSecret,
    BRIDGE_JWT_SECRET: secrets.jwtSecret,
    CORS_ORIGINS: 'https://app.example.com',
    ...clusterEnv(t) as Record<string, string>
  }
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const server = startServer({
    NODE_ENV: 'production', PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info', BRIDGE_SHUTDOWN_TIMEOUT: String(SHUTDOWN_TIMEOUT_MS), ...env
  })
  t.teardown(() => { server.child.kill('SIGKILL') })
  await server.logLine('Server listening')
  // The node the clients move to once this one has gone.
  const otherNode = await buildApp(t, env)

  const token = socketToken({ sub: 'watcher', rooms: [room] })
  const clients: TestClient[] = []
  for (let index = 0; index < 5; index++) {
    const client = await connectClient(t, url, { auth: { token }, reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 500 })
    t.same(await subscribe(client, room), { ok: true, room })
    clients.push(client)
  }
  const received = clients.map((client) => recordEvents(client))

  // Signed over the whole body, which is then sent a byte at a time: it would take 100 s.
  const body = JSON.stringify({ room, uuid: 'trickled-1', message: { text: 'x'.repeat(140) } })
  const publisher: Socket = connectTcp(port, '127.0.0.1')
  t.teardown(() => { publisher.destroy() })
  publisher.on('error', () => {})
  let answer = ''
  publisher.on('data', (chunk: Buffer) => { answer += chunk })
  const closed = once(publisher, 'close')
  const headers = Object.entries(signedHeaders(body)).map(([name, value]) => `${name}: ${value}\r\n`).join('')
  publisher.write(`POST /api/sms/new-message HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n${headers}\r\n`)
  let sent = 0
  const trickle = setInterval(() => {
    if (sent < body.length && !publisher.destroyed) publisher.write(body[sent++] ?? '')
  }, TRICKLE_EVERY_MS)
  t.teardown(() => clearInterval(trickle))
  await waitFor(async () => {
    const metrics = await (await fetch(`${url}/metrics`)).text()
    return metricValue(metrics, 'bridge_http_requests_in_flight') === 2 && sent > 0
  }, 'the publish to be in flight, its body arriving')

  const disconnects = clients.map((client) => new Promise<string>((resolve) => client.once('disconnect', resolve)))
  const exited = once(server.child, 'exit')
  const signalled = performance.now()
  server.child.kill('SIGTERM')
  t.same(await Promise.all(disconnects), clients.map(() => 'transport close'), 'every socket is sent away')
  const handOverMs = performance.now() - signalled
  t.ok(sent < body.length, `while the body is still arriving (${sent} of ${body.length} bytes)`)
  t.ok(handOverMs < SHUTDOWN_TIMEOUT_MS / 2, `long before BRIDGE_SHUTDOWN_TIMEOUT (${Math.round(handOverMs)} ms)`)

  await closed
  const [head = '', payload = ''] = answer.split('\r\n\r\n')
  t.match(head, /^HTTP\/1\.1 503 /, 'the trickled publish is answered 503')
  t.match(head, /\r\nretry-after: 5\r\n/i, 'with Retry-After')
  t.match(head, /\r\nconnection: close\r\n/i, 'and its connection closed')
  t.match(payload === '' ? undefined : JSON.parse(payload), { statusCode: 503, code: 'BRIDGE_SHUTTING_DOWN' })
  const [code] = await exited
  t.equal(code, 0, 'exit 0: the trickle did not hold the shutdown until BRIDGE_SHUTDOWN_TIMEOUT')

  const reconnects = clients.map((client) => new Promise<boolean>((resolve) => client.once('connect', () => resolve(client.recovered))))
  await otherNode.listen({ port, host: '127.0.0.1' })
  t.same(await Promise.all(reconnects), clients.map(() => true), 'every client recovers its session on the other node')

  // A publish after it, through the other node: once it has arrived, the trickled one never will.
  const fence = JSON.stringify({ room, uuid: 'after-shutdown', message: { text: 'next' } })
  const arrived = clients.map((client) => nextEvent(client, 'new_message'))
  const response = await fetch(`${url}/api/sms/new-message`, { method: 'POST', headers: { 'content-type': 'application/json', ...signedHeaders(fence) }, body: fence })
  t.equal(response.status, 202)
  for (const event of await Promise.all(arrived)) t.match(event, { uuid: 'after-shutdown' })
  const uuids = received.flatMap((events) => events.map(({ data }) => (data as { uuid?: string }).uuid))
  t.notOk(uuids.includes('trickled-1'), 'the trickled publish reached nobody')
})
