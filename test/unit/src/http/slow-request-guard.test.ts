// The second deadline answers 408 and closes where Node's own check is not there to do it
// (switched off here), and leaves complete requests and upgrades alone.
import { createServer, type Server } from 'node:http'
import { connect, type AddressInfo, type Socket } from 'node:net'
import { once } from 'node:events'
import t, { type Test } from 'tap'
import { guardSlowRequests } from '../../../../src/http/slow-request-guard.ts'

async function guardedServer (t: Test, connections: Socket[] = []): Promise<number> {
  // Node's own timeouts off: only the guard can end a trickled request.
  const server: Server = createServer({ requestTimeout: 0, headersTimeout: 0 }, (request, reply) => {
    request.resume()
    request.on('end', () => { reply.end('ok') })
  })
  server.on('connection', (socket: Socket) => { connections.push(socket) })
  server.on('upgrade', (_request, socket) => { socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: test\r\nConnection: Upgrade\r\n\r\n') })
  guardSlowRequests(server, 300, 300)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => { server.closeAllConnections(); server.close() })
  return (server.address() as AddressInfo).port
}

/** Writes `head`, then one byte every 100 ms for `ms`: what came back and whether the bridge closed. */
async function trickle (port: number, head: string, byte: string, ms: number): Promise<{ received: string, closed: boolean }> {
  const socket = connect(port, '127.0.0.1')
  let received = ''
  const state = { closed: false }
  socket.on('data', (chunk: Buffer) => { received += chunk })
  socket.on('close', () => { state.closed = true })
  socket.on('error', () => {})
  await once(socket, 'connect')
  socket.write(head)
  for (let waited = 0; waited < ms && !state.closed; waited += 100) {
    socket.write(byte)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  socket.destroy()
  return { received, closed: state.closed }
}

t.test('a trickled head is answered 408 and closed', async (t) => {
  const port = await guardedServer(t)
  const { received, closed } = await trickle(port, 'POST /x HTTP/1.1\r\nHost: a\r\nX-Slow: ', 'a', 5000)
  t.ok(closed, 'closed before the trickle ended')
  t.match(received, /^HTTP\/1\.1 408/)
})

t.test('a trickled body is answered 408 and closed', async (t) => {
  const port = await guardedServer(t)
  const { received, closed } = await trickle(port, 'POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n', 'a', 5000)
  t.ok(closed, 'closed before the trickle ended')
  t.match(received, /^HTTP\/1\.1 408/)
})

t.test('a complete request and an upgrade are left alone past the deadlines', async (t) => {
  const port = await guardedServer(t)
  const socket = connect(port, '127.0.0.1')
  let received = ''
  socket.on('data', (chunk: Buffer) => { received += chunk })
  await once(socket, 'connect')
  socket.write('GET /x HTTP/1.1\r\nHost: a\r\n\r\n')
  const upgraded = connect(port, '127.0.0.1')
  await once(upgraded, 'connect')
  upgraded.write('GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: test\r\nConnection: Upgrade\r\n\r\n')
  await new Promise((resolve) => setTimeout(resolve, 3000))
  t.match(received, /^HTTP\/1\.1 200/)
  t.notOk(socket.destroyed, 'the keep-alive connection is still open')
  t.notOk(upgraded.destroyed, 'the upgraded connection is still open')
  socket.destroy()
  upgraded.destroy()
})

t.test('requests on one keep-alive connection leave no listener behind on it', async (t) => {
  const connections: Socket[] = []
  const port = await guardedServer(t, connections)
  const socket = connect(port, '127.0.0.1')
  socket.on('error', () => {})
  t.teardown(() => { socket.destroy() })
  let received = ''
  socket.on('data', (chunk: Buffer) => { received += chunk })
  await once(socket, 'connect')
  const answered = () => received.split('HTTP/1.1 200').length - 1
  for (let i = 1; i <= 30; i++) {
    // The head first, the body a moment later: the request is not complete when it starts.
    socket.write('POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n')
    await new Promise((resolve) => setTimeout(resolve, 5))
    socket.write('ab')
    while (answered() < i) await once(socket, 'data')
  }
  const [connection] = connections
  t.equal(connections.length, 1, 'one connection carried every request')
  t.ok(connection !== undefined && connection.listenerCount('close') < 10, `listeners on the connection: ${connection?.listenerCount('close')}`)
})

t.test('an upgraded connection keeps no listener of the guard for its life', async (t) => {
  // Held idle for hours by the thousand: a listener each would add up (docs/performance.md).
  const connections: Socket[] = []
  const port = await guardedServer(t, connections)
  const upgraded = connect(port, '127.0.0.1')
  upgraded.on('error', () => {})
  t.teardown(() => { upgraded.destroy() })
  await once(upgraded, 'connect')
  upgraded.write('GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: test\r\nConnection: Upgrade\r\n\r\n')
  await once(upgraded, 'data')
  const [connection] = connections
  t.same(connection?.listeners('close').map((listener) => listener.name), [], 'no close listener is left on the upgraded connection')
})
