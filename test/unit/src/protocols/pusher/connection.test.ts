// Pusher-protocol connections on `/app/{key}`: what pusher-js gets on connect, refusals (unknown
// key, origin, no Pusher app), the activity check both ways, and the close at shutdown.
import t from 'tap'
import { WebSocket } from 'ws'
import { startBridge } from '../../../../helpers/bridge.ts'
import { app, connectPusher, dataOf, pusherEnv, rawPusher } from '../../../../helpers/pusher-js.ts'

t.setTimeout(60_000)

t.test('pusher-js connects on /app/{key} and gets a Pusher-shaped socket id', async (t) => {
  const { url } = await startBridge(t, pusherEnv())
  const pusher = await connectPusher(t, url)
  t.equal(pusher.connection.state, 'connected')
  t.match(pusher.connection.socket_id, /^\d+\.\d+$/)

  const raw = await rawPusher(t, url)
  const established = await raw.next('pusher:connection_established')
  t.equal(typeof established.data, 'string', 'data is a JSON string, as Pusher sends it')
  const data = dataOf(established)
  t.match(data.socket_id, /^\d+\.\d+$/)
  t.equal(data.activity_timeout, 120, 'the default activity_timeout')
  t.not(data.socket_id, pusher.connection.socket_id, 'each connection its own id')
})

t.test('an unknown key gets pusher:error 4001 and the socket is closed with 4001', async (t) => {
  const { url } = await startBridge(t, pusherEnv())
  const raw = await rawPusher(t, url, { key: 'not-the-key' })
  const error = await raw.next('pusher:error')
  t.same(dataOf(error).code, 4001)
  t.equal((await raw.closed).code, 4001)
  t.same(raw.frames.filter((frame) => frame.event === 'pusher:connection_established'), [], 'never established')
})

t.test('origins are checked against CORS_ORIGINS; a client without Origin is let in', async (t) => {
  const { url } = await startBridge(t, pusherEnv({ CORS_ORIGINS: 'https://app.example.com' }))
  const allowed = await rawPusher(t, url, { headers: { origin: 'https://app.example.com' } })
  t.ok(await allowed.next('pusher:connection_established'))
  const none = await rawPusher(t, url)
  t.ok(await none.next('pusher:connection_established'))

  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/app/${app.key}?protocol=7`, { headers: { origin: 'https://evil.example.com' } })
  t.teardown(() => { ws.terminate() })
  const status = await new Promise<number | undefined>((resolve) => {
    ws.once('unexpected-response', (_request, response) => resolve(response.statusCode))
    ws.once('open', () => resolve(undefined))
    ws.once('error', () => resolve(-1))
  })
  t.equal(status, 403, 'another origin is refused before the upgrade')
})

t.test('without a Pusher app configured /app/{key} is 404', async (t) => {
  const { url } = await startBridge(t)
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/app/any?protocol=7`)
  t.teardown(() => { ws.terminate() })
  const status = await new Promise<number | undefined>((resolve) => {
    ws.once('unexpected-response', (_request, response) => resolve(response.statusCode))
    ws.once('open', () => resolve(undefined))
    ws.once('error', () => resolve(-1))
  })
  t.equal(status, 404)
})

t.test('pusher:ping is answered with pusher:pong', async (t) => {
  const { url } = await startBridge(t, pusherEnv())
  const raw = await rawPusher(t, url)
  await raw.next('pusher:connection_established')
  raw.send({ event: 'pusher:ping', data: {} })
  t.ok(await raw.next('pusher:pong'))
})

t.test('a silent connection is pinged after activity_timeout, and closed 4201 when it does not answer', async (t) => {
  const { url } = await startBridge(t, pusherEnv({ BRIDGE_PUSHER_ACTIVITY_TIMEOUT: '1' }))
  const answering = await rawPusher(t, url)
  const silent = await rawPusher(t, url)
  t.equal(dataOf(await silent.next('pusher:connection_established')).activity_timeout, 1)
  await answering.next('pusher:connection_established')
  // Answers every ping, as pusher-js does.
  answering.ws.on('message', (text) => { if (String(text).includes('"pusher:ping"')) answering.send({ event: 'pusher:pong', data: {} }) })
  await answering.next('pusher:ping', 3000)
  await silent.next('pusher:ping', 3000)
  const { code } = await silent.closed
  t.equal(code, 4201, 'no pong: closed with 4201 (pusher-js reconnects at once)')
  t.equal(answering.ws.readyState, WebSocket.OPEN, 'the one that answered stays')
})

t.test('shutdown closes Pusher connections with 4200, so pusher-js reconnects elsewhere', async (t) => {
  const { fastify, url } = await startBridge(t, pusherEnv())
  const raw = await rawPusher(t, url)
  await raw.next('pusher:connection_established')
  const pusher = await connectPusher(t, url)
  const pusherClosed = new Promise<number>((resolve) => {
    pusher.connection.bind('state_change', ({ current }: { current: string }) => { if (current !== 'connected') resolve(1) })
  })
  await fastify.close()
  t.equal((await raw.closed).code, 4200)
  t.equal(await pusherClosed, 1, 'pusher-js saw its connection go')
})
