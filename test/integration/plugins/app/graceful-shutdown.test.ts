// Graceful shutdown of the real server process (src/server.ts with plugins/app/graceful-shutdown.ts):
// on SIGTERM/SIGINT it stops taking traffic, answers what it received, sends sockets away
// and exits 0; a second signal or BRIDGE_SHUTDOWN_TIMEOUT forces exit 1.
import { once } from 'node:events'
import { connect as connectTcp, type Socket } from 'node:net'
import t, { type Test } from 'tap'
import { buildApp, connectClient, freePort, metricValue, nextEvent, startServer, subscribe, waitFor, type TestClient } from '../../../helpers/bridge.ts'
import { clusterEnv } from '../../../helpers/redis.ts'

// Each test starts a real server process; on a machine shared with other tests that is slow.
t.setTimeout(180_000)

/** A started server process on a free port, stopped (SIGKILL) when the test ends. */
async function startListening (t: Test, env: Record<string, string> = {}) {
  const port = await freePort()
  const server = startServer({ PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env })
  t.teardown(() => { server.child.kill('SIGKILL') })
  await server.logLine('Server listening')
  return { ...server, port, url: `http://127.0.0.1:${port}` }
}

/**
 * A publish whose headers are sent now and whose body is sent by `finish()`: a request the
 * bridge has received and not yet answered. Resolves once the bridge counts it in flight.
 */
async function publishInFlight (t: Test, port: number, url: string, body: unknown) {
  const json = JSON.stringify(body)
  const socket: Socket = connectTcp(port, '127.0.0.1')
  t.teardown(() => { socket.destroy() })
  let received = ''
  socket.on('data', (chunk: Buffer) => { received += chunk })
  const ended = once(socket, 'end')
  socket.write(`POST /api/sms/new-message HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
    `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(json)}\r\nConnection: close\r\n\r\n`)
  // In flight: this request and the scrape asking.
  await waitFor(async () => {
    const metrics = await (await fetch(`${url}/metrics`)).text()
    return metricValue(metrics, 'bridge_http_requests_in_flight') === 2
  }, 'the publish to be in flight')
  return {
    /** Sends the body; resolves with the status code and JSON body of the answer. */
    async finish () {
      socket.write(json)
      await ended
      const [head = '', payload = ''] = received.split('\r\n\r\n')
      return { status: Number(head.split(' ')[1]), body: JSON.parse(payload) as Record<string, unknown> }
    }
  }
}

t.test('SIGTERM: not ready, no new connections, in-flight publish arriving within the grace answered and delivered, sockets sent away, exit 0', async (t) => {
  const server = await startListening(t, { BRIDGE_SHUTDOWN_TIMEOUT: '30000' })
  const { child, port, url } = server
  // The "other node" the client will reconnect to, once this one has gone.
  const otherNode = await buildApp(t)

  // A client as browsers run it: reconnecting on its own when the connection is lost.
  const client = await connectClient(t, url, { reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 500 })
  t.same(await subscribe(client, 'chat_deploy'), { ok: true, room: 'chat_deploy' })
  const disconnected = new Promise<string>((resolve) => client.once('disconnect', resolve))
  const delivered = nextEvent(client, 'new_message', 60_000)

  const publish = await publishInFlight(t, port, url, { room: 'chat_deploy', message: { text: 'sent during deploy' }, uuid: 'deploy-1' })
  const exited = once(child, 'exit')
  child.kill('SIGTERM')
  t.match(await server.logLine('shutting down'), { signal: 'SIGTERM', timeoutMs: 30000 })
  await server.logLine('shutdown: answering requests in flight')

  // All within the 2 s the shutdown gives publishes in flight to arrive whole.
  const [ready, late] = await Promise.all([
    fetch(`${url}/ready`),
    fetch(`${url}/api/sms/new-message`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ room: 'chat_deploy', message: {} })
    }),
    t.rejects(connectClient(t, url), 'a new socket.io connection is refused')
  ])
  t.equal(ready.status, 503, '/ready turns 503')
  t.equal(late.status, 503, 'a publish arriving after the signal is refused')
  t.ok(client.connected, 'connected sockets stay until requests in flight are answered')

  const answer = await publish.finish()
  t.equal(answer.status, 202, 'the publish begun before the signal is answered')
  t.same(answer.body, { ok: true, event: 'new_message', room: 'chat_deploy', uuid: 'deploy-1' })
  t.match(await delivered, { uuid: 'deploy-1' }, 'and its event reaches the subscribed socket')

  t.equal(await disconnected, 'transport close', 'the socket is disconnected as by a lost connection')
  t.ok(client.active, 'so the client reconnects by itself')

  const [code, signal] = await exited
  t.equal(code, 0, 'exit code 0')
  t.equal(signal, null)
  await server.logLine('shut down')

  // The other node takes the address over (as behind a load balancer); the client reconnects unaided.
  const reconnected = new Promise<void>((resolve) => client.once('connect', resolve))
  await otherNode.listen({ port, host: '127.0.0.1' })
  await reconnected
  t.same(await subscribe(client, 'chat_deploy'), { ok: true, room: 'chat_deploy' }, 'and carries on')
})

t.test('a stalled download (Swagger UI\'s bundle, never read) does not hold the shutdown: exit 0, 10 of 10 clients recover on another node', async (t) => {
  const env = clusterEnv(t) as Record<string, string>
  const server = await startListening(t, { BRIDGE_SHUTDOWN_TIMEOUT: '20000', ...env })
  const { child, port, url } = server
  const otherNode = await buildApp(t, env)

  const clients: TestClient[] = []
  for (let index = 0; index < 10; index++) {
    const client = await connectClient(t, url, { reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 500 })
    t.same(await subscribe(client, 'chat_handover'), { ok: true, room: 'chat_handover' })
    clients.push(client)
  }

  // Asked for 20 times on one connection that is never read: far more than socket buffers hold.
  const download: Socket = connectTcp(port, '127.0.0.1')
  t.teardown(() => { download.destroy() })
  download.pause()
  download.write(`GET /docs/static/swagger-ui-bundle.js HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`.repeat(20))
  await waitFor(async () => {
    const metrics = await (await fetch(`${url}/metrics`)).text()
    return metricValue(metrics, 'bridge_http_requests_in_flight') >= 2
  }, 'the download to be in flight')

  const disconnects = clients.map((client) => new Promise<string>((resolve) => client.once('disconnect', resolve)))
  const exited = once(child, 'exit')
  child.kill('SIGTERM')
  t.same(await Promise.all(disconnects), clients.map(() => 'transport close'), 'every socket is sent away')
  const [code] = await exited
  t.equal(code, 0, 'exit 0: the shutdown did not wait for the download until BRIDGE_SHUTDOWN_TIMEOUT')

  const reconnects = clients.map((client) => new Promise<boolean>((resolve) => client.once('connect', () => resolve(client.recovered))))
  await otherNode.listen({ port, host: '127.0.0.1' })
  const recovered = await Promise.all(reconnects)
  t.equal(recovered.filter(Boolean).length, 10, '10 of 10 clients recover their sessions on the other node')
})

t.test('a second signal during a graceful shutdown forces exit 1', async (t) => {
  const server = await startListening(t, { BRIDGE_SHUTDOWN_TIMEOUT: '60000' })
  // Never finished: the graceful shutdown waits for it (for the 2 s grace).
  await publishInFlight(t, server.port, server.url, { room: 'chat_stuck', message: {} })
  const exited = once(server.child, 'exit')
  server.child.kill('SIGTERM')
  await server.logLine('shutdown: answering requests in flight')
  server.child.kill('SIGINT')
  const [code] = await exited
  t.equal(code, 1)
  await server.logLine('second SIGINT, exiting')
})

t.test('a shutdown longer than BRIDGE_SHUTDOWN_TIMEOUT is cut short with exit 1', async (t) => {
  const server = await startListening(t, { BRIDGE_SHUTDOWN_TIMEOUT: '1000' })
  // Never finished: waited for during the 2 s grace, past the 1 s timeout.
  await publishInFlight(t, server.port, server.url, { room: 'chat_stuck', message: {} })
  const exited = once(server.child, 'exit')
  server.child.kill('SIGINT')
  t.match(await server.logLine('shutting down'), { signal: 'SIGINT' })
  const [code] = await exited
  t.equal(code, 1)
  await server.logLine('killed by timeout (1000ms)')
})
