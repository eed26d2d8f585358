// Sockets connect only with a valid connection token (and from an allowed origin).
import { generateKeyPairSync } from 'node:crypto'
import { Writable } from 'node:stream'
import { createSigner } from 'fast-jwt'
import Fastify from 'fastify'
import t from 'tap'
import app from '../../../../src/app.ts'
import { loadConfig } from '../../../../src/config/index.ts'
import { serverOptions } from '../../../../src/http/server-options.ts'
import {
  connectClient,
  refusedConnection,
  secrets,
  securedEnv,
  socketToken,
  startBridge,
  subscribe,
  testEnv,
  waitFor
} from '../../../helpers/bridge.ts'

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
const inAnHour = () => Math.floor(Date.now() / 1000) + 3600

t.test('a valid connection token connects, and the user id is kept on the socket', async (t) => {
  const { fastify, url } = await startBridge(t, securedEnv())
  const socket = await connectClient(t, url, { auth: { token: socketToken({ sub: 'user-42', rooms: ['chat_1'] }) } })
  t.ok(socket.connected)
  const [serverSide] = await fastify.io.fetchSockets()
  t.equal(serverSide?.data.userId, 'user-42')
  t.same(serverSide?.data.rooms, ['chat_1'])
})

t.test('a verified token is not kept on the connection: what it granted is', async (t) => {
  const { fastify, url } = await startBridge(t, securedEnv())
  const token = socketToken({ sub: 'user-7', rooms: ['chat_7'] })
  const client = await connectClient(t, url, { auth: { token } })
  const [serverSide] = fastify.io.of('/').sockets.values()
  t.same(serverSide?.handshake.auth, {}, 'handshake.auth no longer holds the token')
  t.notOk(JSON.stringify(serverSide?.handshake).includes(token), 'nor does anything else of the handshake')
  t.same(serverSide?.data, { userId: 'user-7', rooms: ['chat_7'] })
  t.same(await subscribe(client, 'chat_7'), { ok: true, room: 'chat_7' }, 'rooms granted by the token are still joined')
  t.match(await subscribe(client, 'chat_8'), { ok: false }, 'and only those')
})

t.test('an integer sub (a PHP user id) is the same user as its string', async (t) => {
  const { fastify, url } = await startBridge(t, securedEnv())
  await connectClient(t, url, { auth: { token: socketToken({ sub: 42 }) } })
  const [serverSide] = await fastify.io.fetchSockets()
  t.equal(serverSide?.data.userId, '42')
})

t.test('every bad connection token is refused with connect_error "unauthorized"', async (t) => {
  const { url } = await startBridge(t, securedEnv())
  const claims = { sub: 'user-1', exp: inAnHour() }
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const now = Math.floor(Date.now() / 1000)
  const valid = socketToken({ sub: 'user-1' })
  const [header, payload] = valid.split('.')

  const tokens: Record<string, unknown> = {
    'no auth at all': undefined,
    'an empty token': '',
    'a number': 12345,
    'an object': { sub: 'user-1' },
    garbage: 'not-a-jwt',
    'three garbage parts': 'a.b.c',
    'alg none': `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url(claims)}.`,
    'alg None with the signature kept': `${base64url({ alg: 'None', typ: 'JWT' })}.${payload}.${valid.split('.')[2]}`,
    'HS256 without its signature': `${header}.${payload}.`,
    'HS512 with the right secret': createSigner({ key: secrets.jwtSecret, algorithm: 'HS512' })(claims),
    'HS384 with the right secret': createSigner({ key: secrets.jwtSecret, algorithm: 'HS384' })(claims),
    RS256: createSigner({ key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), algorithm: 'RS256' })(claims),
    'another secret': socketToken({ sub: 'user-1' }, `${secrets.jwtSecret}x`),
    'a payload changed after signing': `${header}.${base64url({ ...claims, rooms: ['*'] })}.${valid.split('.')[2]}`,
    expired: createSigner({ key: secrets.jwtSecret, algorithm: 'HS256' })({ sub: 'user-1', exp: now - 10 }),
    'not yet valid': createSigner({ key: secrets.jwtSecret, algorithm: 'HS256' })({ ...claims, nbf: now + 600 }),
    'without sub': createSigner({ key: secrets.jwtSecret, algorithm: 'HS256' })({ exp: inAnHour() }),
    'without exp': createSigner({ key: secrets.jwtSecret, algorithm: 'HS256', noTimestamp: true })({ sub: 'user-1' }),
    'an empty sub': socketToken({ sub: '' }),
    'a sub that is an object': socketToken({ sub: { id: 1 } }),
    'rooms that is a string': socketToken({ sub: 'user-1', rooms: 'chat_*' }),
    'rooms with a non-string': socketToken({ sub: 'user-1', rooms: ['chat_1', 2] })
  }
  for (const [what, token] of Object.entries(tokens)) {
    const options = token === undefined ? {} : { auth: { token } }
    t.equal(await refusedConnection(t, url, options as never), 'unauthorized', what)
  }
})

t.test('a refused token is logged with its reason, never the token itself', async (t) => {
  const lines: string[] = []
  const stream = new Writable({
    write (chunk: Buffer, _encoding, done) { lines.push(chunk.toString()); done() }
  })
  const config = loadConfig(testEnv(securedEnv({ LOG_LEVEL: 'debug' })))
  const options = serverOptions(config)
  const fastify = Fastify({ ...options, logger: { ...(options.logger as object), stream } })
  await fastify.register(app, { config })
  t.teardown(() => fastify.close())
  await fastify.listen({ port: 0, host: '127.0.0.1' })
  const { port } = fastify.server.address() as { port: number }
  const url = `http://127.0.0.1:${port}`

  const forged = socketToken({ sub: 'user-1' }, 'a-secret-that-is-not-the-bridges-one-at-all')
  t.equal(await refusedConnection(t, url, { auth: { token: forged } }), 'unauthorized')
  const valid = socketToken({ sub: 'user-1', rooms: ['chat_1'] })
  const socket = await connectClient(t, url, { auth: { token: valid } })
  t.match(await subscribe(socket, 'chat_2', socketToken({ sub: 'user-1', room: 'chat_2' }, 'wrong-secret')), {
    ok: false,
    error: { code: 'FORBIDDEN' }
  })

  const log = lines.join('')
  t.match(log, /"msg":"socket refused"/)
  t.match(log, /signature is invalid/)
  for (const secret of [forged, valid, secrets.jwtSecret, forged.split('.')[2] ?? 'none']) {
    t.notOk(log.includes(secret), 'the log holds no token, signature or secret')
  }
})

t.test('open development mode: no token needed, any room may be joined', async (t) => {
  const { url } = await startBridge(t, { NODE_ENV: 'development' })
  const socket = await connectClient(t, url)
  t.same(await subscribe(socket, 'anything_at_all'), { ok: true, room: 'anything_at_all' })
})

t.test('a socket from an origin outside CORS_ORIGINS is refused; one from a listed origin or with none connects', async (t) => {
  const { fastify, url } = await startBridge(t, securedEnv({ CORS_ORIGINS: 'https://app.example.com' }))
  const token = socketToken({ sub: 'user-1' })
  // Refused at the Engine.IO handshake, before any session exists for it.
  const handshake = await fetch(`${url}/socket.io/?EIO=4&transport=polling`, { headers: { origin: 'https://evil.example.com' } })
  t.equal(handshake.status, 403)
  t.match(await handshake.json(), { message: 'origin not allowed' })
  for (const transports of [['websocket'], ['polling']]) {
    t.match(await refusedConnection(t, url, { transports, auth: { token }, extraHeaders: { origin: 'https://evil.example.com' } }),
      /error/, `${transports[0]} from another origin`)
    const listed = await connectClient(t, url, { transports, auth: { token }, extraHeaders: { origin: 'https://app.example.com' } })
    t.ok(listed.connected, `${transports[0]} from the listed origin`)
    // Before the bridge closes: a polling client left behind keeps the test process alive.
    listed.disconnect()
  }
  t.ok((await connectClient(t, url, { auth: { token } })).connected, 'a client without Origin (an app, a server)')
  // The listed clients' disconnects reach the bridge a little later (polling sends its close as a request).
  await waitFor(() => fastify.io.engine.clientsCount <= 1, 'the listed clients\' sessions to close')
  t.equal(fastify.io.engine.clientsCount, 1, 'no session was created for the refused handshakes')
  const metrics = (await fastify.inject({ method: 'GET', url: '/metrics' })).body
  t.match(metrics, /bridge_socket_connections_refused_total\{reason="origin"\} 3/)
})
