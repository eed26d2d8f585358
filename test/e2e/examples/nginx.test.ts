// examples/nginx/realtime-bridge.conf, verbatim, in Debian's nginx in front of two bridges on
// one Redis: Laravel Echo with its default transports (long-polling first, then the websocket
// upgrade) connects over TLS, subscribes (authorized by a stand-in for Laravel) and receives
// publishes, one of them made through nginx.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type EchoClass from 'laravel-echo'
import { io, type Socket } from 'socket.io-client'
import t from 'tap'
import { Agent, fetch } from 'undici'
import { freePort, postJson, startBridge } from '../../helpers/bridge.ts'
import { clusterEnv } from '../../helpers/redis.ts'
import { fakeLaravel } from '../../helpers/fake-laravel.ts'

const { default: Echo } = await import('laravel-echo')

t.setTimeout(180_000)

const example = fileURLToPath(new URL('../../../examples/nginx/realtime-bridge.conf', import.meta.url))
const nginxBinary = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((path) => existsSync(path))

const skip = nginxBinary === undefined
  ? 'nginx is not installed (apt-get install nginx)'
  : spawnSync('openssl', ['version']).status !== 0 ? 'openssl is not installed: no certificate to test with' : false
if (skip !== false) t.comment(`skipping the nginx test: ${skip}`)

/** A self-signed certificate for 127.0.0.1 in `dir`. */
function makeCertificate (dir: string): { cert: string, key: string } {
  const cert = join(dir, 'cert.pem')
  const key = join(dir, 'key.pem')
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert,
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-days', '1'], { encoding: 'utf8' })
  if (made.status !== 0) throw new Error(`openssl failed: ${made.stderr}`)
  return { cert, key }
}

/**
 * nginx in the foreground with a main configuration of the test's own (pid, logs and temporary
 * files under `dir`) whose http block includes the example file as it is committed; the two files
 * it includes hold this test's addresses and certificate.
 */
async function startNginx (dir: string, port: number, nodes: string[], certificate: { cert: string, key: string }) {
  await mkdir(join(dir, 'realtime-bridge'))
  await writeFile(join(dir, 'realtime-bridge', 'nodes.conf'),
    nodes.map((node) => `server ${new URL(node).host} max_fails=3 fail_timeout=10s;\n`).join(''))
  await writeFile(join(dir, 'realtime-bridge', 'listen.conf'), [
    `listen 127.0.0.1:${port} ssl;`,
    'server_name localhost;',
    `ssl_certificate ${certificate.cert};`,
    `ssl_certificate_key ${certificate.key};`,
    ''
  ].join('\n'))
  await writeFile(join(dir, 'nginx.conf'), [
    `pid ${join(dir, 'nginx.pid')};`,
    'error_log stderr notice;',
    'daemon off;',
    'worker_processes 1;',
    'events { worker_connections 256; }',
    'http {',
    '  access_log off;',
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `  ${kind}_temp_path ${join(dir, `${kind}_temp`)};`),
    `  include ${example};`,
    '}',
    ''
  ].join('\n'))
  // Workers run as an unprivileged user when nginx starts as root: they must reach the temp paths.
  await chmod(dir, 0o755)
  const nginx = spawn(nginxBinary as string, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', 'stderr'], { stdio: ['ignore', 'ignore', 'pipe'] })
  let log = ''
  const exited = new Promise<number | null>((resolve) => nginx.once('exit', resolve))
  await new Promise<void>((resolve, reject) => {
    nginx.stderr.on('data', (chunk: Buffer) => {
      log += chunk.toString()
      if (log.includes('start worker process')) resolve()
    })
    exited.then((code) => reject(new Error(`nginx exited (${String(code)}):\n${log}`)), reject)
  })
  return {
    log: () => log,
    stop: async () => {
      if (nginx.exitCode === null && nginx.signalCode === null) nginx.kill('SIGTERM')
      await exited
    }
  }
}

t.test('Echo through nginx: polling then websocket over TLS, to two bridges on one Redis', { skip }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'bridge-nginx-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const certificate = makeCertificate(dir)

  // Two nodes in cluster mode, trusting nginx's X-Forwarded-For, asking "Laravel" about private channels.
  const laravel = await fakeLaravel(t)
  const env = { ...clusterEnv(t), BRIDGE_TRUST_PROXY: '127.0.0.1', BRIDGE_AUTH_ENDPOINT: laravel.url }
  const nodes = [await startBridge(t, env), await startBridge(t, env)]
  const port = await freePort()
  const nginx = await startNginx(dir, port, nodes.map((node) => node.url), certificate)
  t.teardown(() => nginx.stop())
  const ca = await readFile(certificate.cert, 'utf8')
  const url = `https://127.0.0.1:${port}`

  // As a browser page sets Echo up: no transports option, so socket.io's default.
  const echo = new Echo({
    broadcaster: 'socket.io',
    client: io,
    host: url,
    ca,
    forceNew: true,
    reconnection: false,
    auth: { headers: {} },
    // A client claiming another address: nginx replaces the header with the one it sees.
    extraHeaders: { 'X-Forwarded-For': '203.0.113.66' }
  } as ConstructorParameters<typeof EchoClass<'socket.io'>>[0]) as EchoClass<'socket.io'>
  t.teardown(() => { echo.disconnect() })
  const socket = echo.connector.socket as Socket
  const engine = socket.io.engine
  t.equal(engine.transport.name, 'polling', 'Echo starts on long-polling')
  const upgraded = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no websocket upgrade within 10 s\nnginx:\n${nginx.log()}`)), 10_000)
    engine.once('upgrade', () => { clearTimeout(timer); resolve() })
  })
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('connect_error', (error) => reject(new Error(`${error.message}\nnginx:\n${nginx.log()}`)))
  })
  await upgraded
  t.equal(engine.transport.name, 'websocket', 'then upgrades to a websocket, through nginx')

  const subscribed = new Promise((resolve) => socket.once('subscription_succeeded', resolve))
  const received: unknown[] = []
  const arrivals: Array<() => void> = []
  echo.private('orders').listen('.new_message', (event: unknown) => {
    received.push(event)
    arrivals.shift()?.()
  })
  t.equal(await subscribed, 'private-orders', 'the subscription is answered through nginx')
  t.equal(laravel.requests.length, 1, 'after Laravel allowed it')
  t.notMatch(String(laravel.requests[0]?.headers['x-forwarded-for']), '203.0.113.66', 'the address the client claimed does not reach Laravel')
  const next = () => new Promise<void>((resolve) => { arrivals.push(resolve) })

  // Each node delivers what the other one was given: the cluster behind nginx.
  for (const [index, node] of nodes.entries()) {
    const arrived = next()
    t.equal((await postJson(node.url, '/api/sms/new-message', { room: 'orders', message: { node: index }, uuid: `node-${index}` })).status, 202, `node ${index} takes a publish`)
    await arrived
  }

  const agent = new Agent({ connect: { ca } })
  t.teardown(() => agent.close())
  const arrived = next()
  const publish = await fetch(`${url}/api/sms/new-message`, {
    method: 'POST',
    dispatcher: agent,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ room: 'orders', message: { via: 'nginx' }, uuid: 'via-nginx' })
  })
  t.equal(publish.status, 202, 'a publish over HTTPS through nginx is accepted')
  await arrived
  t.same(received.map((event) => (event as { uuid: string }).uuid), ['node-0', 'node-1', 'via-nginx'], 'Echo received all three, once each')

  const health = await fetch(`${url}/ready`, { dispatcher: agent })
  t.equal(health.status, 200, '/ready answers through nginx')
})

t.test('nginx keeps idle connections open longer than socket.io\'s ping interval and timeout', async (t) => {
  const { fastify } = await startBridge(t)
  const { pingInterval, pingTimeout } = fastify.io.engine.opts as { pingInterval: number, pingTimeout: number }
  const text = await readFile(example, 'utf8')
  for (const directive of ['proxy_read_timeout', 'proxy_send_timeout']) {
    const seconds = Number(new RegExp(`^\\s*${directive} (\\d+)s;`, 'm').exec(text)?.[1] ?? '60')
    t.ok(seconds * 1000 > pingInterval + pingTimeout, `${directive} ${seconds} s is longer than ${(pingInterval + pingTimeout) / 1000} s`)
  }
})
