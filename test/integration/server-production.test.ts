// The real server as a child process (`node src/server.ts`): with NODE_ENV=production it
// refuses to start without its secrets, and once started it enforces the security rules.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import {
  connectClient,
  nextEvent,
  recordEvents,
  refusedConnection,
  secrets,
  signedHeaders,
  socketToken,
  subscribe,
  waitFor
} from '../helpers/bridge.ts'

// Each case starts a Node process compiling TypeScript: slow on a busy machine.
t.setTimeout(180_000)

const serverEntry = fileURLToPath(new URL('../../src/server.ts', import.meta.url))

const productionEnv = {
  NODE_ENV: 'production',
  HOST: '127.0.0.1',
  PORT: '0',
  LOG_LEVEL: 'debug',
  BRIDGE_API_TOKEN: `${secrets.apiToken},${secrets.apiTokenNext}`,
  BRIDGE_API_SIGNING_SECRET: secrets.signingSecret,
  BRIDGE_JWT_SECRET: secrets.jwtSecret,
  CORS_ORIGINS: 'https://app.example.com'
}

interface Bridge {
  child: ChildProcess
  stdout: () => string
  stderr: () => string
  exited: Promise<number | null>
}

/** Runs the server entry point from an empty directory (so no `.env` is read), with only `env`. */
async function runServer (t: Test, env: Record<string, string | undefined>): Promise<Bridge> {
  const cwd = await mkdtemp(join(tmpdir(), 'bridge-'))
  t.teardown(() => rm(cwd, { recursive: true, force: true }))
  const child = spawn(process.execPath, [serverEntry], {
    cwd,
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await exited
  })
  return { child, stdout: () => stdout, stderr: () => stderr, exited }
}

/** Waits for the "Server listening" log line and returns the bridge's base URL. */
async function listening (bridge: Bridge): Promise<string> {
  for (;;) {
    const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(bridge.stdout())
    if (match?.[1] !== undefined) return match[1]
    const outcome = await Promise.race([
      new Promise((resolve) => bridge.child.stdout?.once('data', resolve)),
      bridge.exited.then((code) => ({ code }))
    ])
    if (typeof outcome === 'object' && outcome !== null && 'code' in outcome) {
      throw new Error(`the bridge exited (${String(outcome.code)}): ${bridge.stderr()}`)
    }
  }
}

t.test('NODE_ENV=production without a secret, or with a weak one, exits non-zero with one line naming it', async (t) => {
  const cases: Record<string, [Record<string, string | undefined>, string]> = {
    'no BRIDGE_API_TOKEN': [{ BRIDGE_API_TOKEN: undefined }, 'BRIDGE_API_TOKEN is required'],
    'no BRIDGE_JWT_SECRET': [{ BRIDGE_JWT_SECRET: undefined }, 'BRIDGE_JWT_SECRET is required'],
    'a short BRIDGE_API_SIGNING_SECRET': [{ BRIDGE_API_SIGNING_SECRET: 'too-short' }, 'BRIDGE_API_SIGNING_SECRET must be at least 32 bytes']
  }
  // (Every other refusal of the configuration: test/unit/src/config/load-config-security.test.ts.)
  await Promise.all(Object.entries(cases).map(async ([what, [overrides, expected]]) => {
    const bridge = await runServer(t, { ...productionEnv, ...overrides })
    t.not(await bridge.exited, 0, `${what}: non-zero exit`)
    const lines = bridge.stderr().trim().split('\n')
    t.equal(lines.length, 1, `${what}: one line`)
    t.match(lines[0], expected, what)
    t.notOk(bridge.stderr().includes('too-short'), `${what}: the value is not printed`)
  }))
})

t.test('a production bridge enforces the contract\'s security rules end to end', async (t) => {
  const bridge = await runServer(t, productionEnv)
  const url = await listening(bridge)

  // Ops endpoints need no token, and carry the security headers.
  const health = await fetch(`${url}/health`)
  t.equal(health.status, 200)
  t.equal(health.headers.get('x-content-type-options'), 'nosniff')
  t.equal((await fetch(`${url}/docs/json`)).status, 200)

  // Sockets: no token, a forged token: refused.
  t.equal(await refusedConnection(t, url), 'unauthorized')
  t.equal(await refusedConnection(t, url, { auth: { token: socketToken({ sub: 'u1', rooms: ['*'] }, 'x'.repeat(40)) } }), 'unauthorized')
  // Another origin is refused at the Engine.IO handshake: the client sees its transport fail.
  t.equal(await refusedConnection(t, url, { auth: { token: socketToken({ sub: 'u1' }) }, extraHeaders: { origin: 'https://evil.example.com' } }),
    'websocket error')

  const token = socketToken({ sub: 'u1', rooms: ['chat_1'] })
  const socket = await connectClient(t, url, { auth: { token } })
  t.same(await subscribe(socket, 'chat_1'), { ok: true, room: 'chat_1' })
  t.match(await subscribe(socket, 'chat_2'), { ok: false, error: { code: 'FORBIDDEN' } })
  const received = recordEvents(socket)

  const publish = (body: string, headers: Record<string, string>) => fetch(`${url}/api/sms/new-message`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body
  })
  const forbiddenRoom = JSON.stringify({ room: 'chat_2', message: { text: 'not for u1' } })
  const body = JSON.stringify({ room: 'chat_1', message: { text: 'hello' } })
  const signed = signedHeaders(body)
  t.equal((await publish(body, {})).status, 401, 'no token')
  t.equal((await publish(body, { authorization: signed.authorization })).status, 401, 'token, no signature')
  t.equal((await publish(body.replace('hello', 'HELLO'), signed)).status, 401, 'a body changed after signing')
  t.equal((await publish(forbiddenRoom, signedHeaders(forbiddenRoom))).status, 202, 'published into a room u1 may not join')

  const arrived = nextEvent(socket, 'new_message')
  t.equal((await publish(body, signed)).status, 202, 'token and signature')
  t.match(await arrived, { room: 'chat_1', message: { text: 'hello' } })
  t.same(received.map(({ data }) => (data as { room: string }).room), ['chat_1'], 'only the allowed room reached u1')

  socket.disconnect()
  bridge.child.kill('SIGTERM')
  t.equal(await bridge.exited, 0, 'exits cleanly on SIGTERM')

  const log = bridge.stdout()
  t.match(log, /"msg":"socket refused"/)
  t.match(log, /"msg":"request refused"/)
  t.notMatch(log, /OPEN MODE/)
  for (const secret of [...Object.values(secrets), token, signed['x-bridge-signature'].slice(7)]) {
    t.notOk(log.includes(secret), 'no secret, token or signature in the log')
  }
})

t.test('development without secrets runs open and says so loudly', async (t) => {
  const bridge = await runServer(t, { NODE_ENV: 'development', HOST: '127.0.0.1', PORT: '0' })
  const url = await listening(bridge)
  const warnings = bridge.stdout().split('\n').filter((line) => line.includes('"level":40') && line.includes('OPEN MODE'))
  t.equal(warnings.length, 2, 'one warning for publishing, one for sockets')
  t.match(warnings.join('\n'), /BRIDGE_API_TOKEN/)
  t.match(warnings.join('\n'), /BRIDGE_JWT_SECRET/)

  const socket = await connectClient(t, url)
  t.same(await subscribe(socket, 'chat_1'), { ok: true, room: 'chat_1' })
  const answer = await fetch(`${url}/api/sms/new-message`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ room: 'chat_1', message: { text: 'open' } })
  })
  t.equal(answer.status, 202)
  socket.disconnect()
})

t.test('open development mode listens on 127.0.0.1 unless HOST says otherwise, and says so', async (t) => {
  const local = await runServer(t, { NODE_ENV: 'development', PORT: '0' })
  const url = await listening(local)
  t.notMatch(local.stdout(), /Server listening at http:\/\/(?!127\.0\.0\.1)/, 'listens on 127.0.0.1 only')
  t.equal((await fetch(`${url}/health`)).status, 200)
  await waitFor(() => local.stdout().includes('open development mode: listening'), 'the open development mode line')
  const says = local.stdout().split('\n').filter((line) => line.includes('open development mode: listening on 127.0.0.1 only'))
  t.equal(says.length, 1, 'one log line says where it listens and how to change it')
  t.match(says[0], /set HOST/)

  const everywhere = await runServer(t, { NODE_ENV: 'development', PORT: '0', HOST: '0.0.0.0' })
  await listening(everywhere)
  await waitFor(() => everywhere.stdout().includes('open development mode: listening'), 'the open development mode line')
  const warning = everywhere.stdout().split('\n').find((line) => line.includes('open development mode: listening on 0.0.0.0'))
  t.match(warning, /"level":40/, 'a warning when HOST opens it to other machines')
})
