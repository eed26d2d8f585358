// A Redis Cluster and a Sentinel set that ask for passwords and speak only TLS, with a CA this
// test makes: two bridges on each deliver across nodes and de-duplicate, and the start line says
// how they log in. A wrong password or a CA that did not sign the servers' certificates stops the
// start with one line naming the deployment and the reason, never the password. REDIS_TLS_CA also
// verifies a rediss:// REDIS_URL and BRIDGE_LARAVEL_REDIS_URL. A failover keeps them connected:
// the new primary is logged in to as the old one was.
import { randomBytes, randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import type { Env } from '../../../src/config/index.ts'
import { connectClient, freePort, nextEvent, postJson, startBridge, startServer, subscribe } from '../../helpers/bridge.ts'
import { commandAs, redisClusterEnv, sentinelEnv, startRedisCluster, startSentinelSet } from '../../helpers/redis-topologies.ts'
import { makeCertificates } from '../../helpers/tls-certificates.ts'
import { failoverUnderTwoBridges } from '../../helpers/topology-behaviour.ts'

t.setTimeout(240_000)

const dir = mkdtempSync(join(tmpdir(), 'bridge-redis-tls-'))
t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
const certificates = await makeCertificates(dir, 'redis')
const stranger = await makeCertificates(dir, 'stranger')
const password = `data-${randomBytes(12).toString('hex')}`
const sentinelPassword = `sentinel-${randomBytes(12).toString('hex')}`
const tls = { REDIS_TLS: 'on', REDIS_TLS_CA: certificates.ca }

async function deliveredOnBothNodes (t: Test, env: Env): Promise<void> {
  const a = await startBridge(t, env)
  const b = await startBridge(t, env)
  const client = await connectClient(t, a.url)
  await subscribe(client, 'chat_1')
  const body = { room: 'chat_1', message: { text: 'over TLS' }, uuid: randomBytes(8).toString('hex') }
  const delivered = nextEvent(client, 'new_message')
  t.equal((await postJson(b.url, '/api/sms/new-message', body)).status, 202, 'published on the other node')
  t.same(await delivered, body, 'delivered on the first')
  const retry = await postJson(a.url, '/api/sms/new-message', body)
  t.equal(retry.status, 200)
  t.equal(retry.body.duplicate, true, 'the same uuid is a duplicate')
}

/** The bridge's one fatal line at start, after it exited 1; no output holds a password. */
async function refusedAtStart (t: Test, env: Record<string, string>): Promise<string> {
  const server = startServer({ PORT: String(await freePort()), LOG_LEVEL: 'info', ...env })
  const [code] = await once(server.child, 'exit')
  t.equal(code, 1, 'exit code 1')
  const { stdout, stderr } = server.output()
  for (const secret of [password, sentinelPassword, 'wrong-password']) t.notOk(`${stdout}${stderr}`.includes(secret), 'no password in the output')
  const fatal = stdout.split('\n').filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { level: number, msg: string }).filter((line) => line.level === 60)
  t.equal(fatal.length, 1, 'one fatal line')
  return fatal[0]?.msg ?? ''
}

/** The start line names the deployment and how the bridge logs in to it. */
async function startLine (t: Test, env: Record<string, string>): Promise<string> {
  const server = startServer({ PORT: String(await freePort()), LOG_LEVEL: 'info', ...env })
  t.teardown(() => { server.child.kill('SIGKILL') })
  const started = String((await server.logLine('started: ')).msg)
  const exited = once(server.child, 'exit')
  server.child.kill('SIGTERM')
  t.same(await exited, [0, null], 'SIGTERM closes it cleanly')
  t.notOk(started.includes(password), 'not the password')
  return started
}

t.test('a Redis Cluster with a password, over TLS only', async (t) => {
  const cluster = await startRedisCluster(t, { password, tls: certificates })
  const env = { ...redisClusterEnv(cluster), REDIS_PASSWORD: password, ...tls }
  const named = `the Redis Cluster of ${cluster.nodes.split(',').join(', ')}`

  t.test('two bridges deliver across nodes and de-duplicate', (t) => deliveredOnBothNodes(t, env))

  t.test('the start line says with a password, over TLS', async (t) => {
    t.match(await startLine(t, env), `cluster mode on ${named} with a password over TLS (keys under`)
  })

  t.test('an ACL user (REDIS_USERNAME) logs in on every node', async (t) => {
    const aclPassword = `acl-${randomBytes(12).toString('hex')}`
    for (const address of cluster.nodes.split(',')) {
      await commandAs({ password, tls: certificates }, Number(address.split(':')[1]), 'ACL', 'SETUSER', 'bridge', 'on', `>${aclPassword}`, '~*', '&*', '+@all')
    }
    await deliveredOnBothNodes(t, { ...env, REDIS_USERNAME: 'bridge', REDIS_PASSWORD: aclPassword })
  })

  t.test('a wrong password stops the start: one line naming the cluster and WRONGPASS', async (t) => {
    const message = await refusedAtStart(t, { ...env, REDIS_PASSWORD: 'wrong-password' })
    t.match(message, `could not start: cluster mode: ${named} with a password over TLS is unreachable (`)
    t.match(message, /WRONGPASS/)
  })

  t.test('no password stops the start: NOAUTH named', async (t) => {
    const message = await refusedAtStart(t, { ...redisClusterEnv(cluster), ...tls })
    t.match(message, /NOAUTH/)
  })

  t.test('a CA that did not sign the servers\' certificates stops the start', async (t) => {
    const message = await refusedAtStart(t, { ...env, REDIS_TLS_CA: stranger.ca })
    t.match(message, `could not start: cluster mode: ${named} with a password over TLS is unreachable (`)
    t.match(message, /certificate/)
  })
  t.test('the primary holding the bus is killed: its replica takes over, with the password and over TLS', async (t) => {
    await failoverUnderTwoBridges(t, env, async () => {
      await cluster.killPrimary(await cluster.primaryOf(`${env.BRIDGE_REDIS_PREFIX}bus`))
    })
  })
})

t.test('a Sentinel set with passwords on the data nodes and the sentinels, over TLS only', async (t) => {
  const set = await startSentinelSet(t, 'secured-primary', { password, sentinelPassword, tls: certificates })
  const env = { ...sentinelEnv(set), REDIS_PASSWORD: password, REDIS_SENTINEL_PASSWORD: sentinelPassword, ...tls }
  const sentinels = set.sentinels.split(',').join(', ')

  t.test('two bridges deliver across nodes and de-duplicate', (t) => deliveredOnBothNodes(t, env))

  t.test('the start line says with a password, over TLS, for the primary and the sentinels', async (t) => {
    t.match(await startLine(t, env), `cluster mode on the Redis primary "secured-primary" with a password over TLS of the sentinels ${sentinels} with a password over TLS (keys under`)
  })

  t.test('a wrong sentinel password stops the start: one line naming the sentinels and WRONGPASS', async (t) => {
    const message = await refusedAtStart(t, { ...env, REDIS_SENTINEL_PASSWORD: 'wrong-password' })
    t.match(message, `could not start: cluster mode: the Redis primary "secured-primary" with a password over TLS of the sentinels ${sentinels} with a password over TLS is unreachable (`)
    t.match(message, /WRONGPASS/)
  })

  t.test('a wrong password of the data nodes stops the start: WRONGPASS named', async (t) => {
    const message = await refusedAtStart(t, { ...env, REDIS_PASSWORD: 'wrong-password' })
    t.match(message, /WRONGPASS/)
  })

  t.test('a CA that did not sign the servers\' certificates stops the start', async (t) => {
    const message = await refusedAtStart(t, { ...env, REDIS_TLS_CA: stranger.ca })
    t.match(message, /certificate/)
  })

  t.test('REDIS_TLS_CA verifies a rediss:// REDIS_URL and BRIDGE_LARAVEL_REDIS_URL too', async (t) => {
    const primary = await set.primary()
    const url = `rediss://:${password}@${primary.address}`
    const laravelPrefix = `tls_${randomBytes(4).toString('hex')}_`
    const single = { REDIS_URL: url, BRIDGE_REDIS_PREFIX: `test:${randomUUID()}:` }
    t.match(await refusedAtStart(t, single), /^could not start: cluster mode: Redis at rediss:\/\/127\.0\.0\.1:\d+ is unreachable \(.*certificate.*\)/, 'not without the CA')
    const bridge = await startBridge(t, { ...single, BRIDGE_LARAVEL_REDIS_URL: url, BRIDGE_LARAVEL_REDIS_PREFIX: laravelPrefix, REDIS_TLS_CA: certificates.ca })
    const client = await connectClient(t, bridge.url)
    await subscribe(client, 'chat.3')
    const received = new Promise((resolve) => client.onAny((event: string, data: unknown) => resolve({ event, data })))
    const message = JSON.stringify({ event: 'message.sent', data: { text: 'from Laravel' }, socket: null })
    await commandAs({ password, tls: certificates }, primary.port, 'PUBLISH', `${laravelPrefix}private-chat.3`, message)
    t.same(await received, { event: 'message.sent', data: { text: 'from Laravel' } }, "Laravel's broadcast over TLS reaches the room")
  })
  t.test('the primary is killed: the bridges follow the sentinels to the new one, with the password and over TLS', async (t) => {
    await failoverUnderTwoBridges(t, env, () => set.killPrimary(), 'cluster mode: the sentinels named a new Redis primary; the bridge moves to it')
  })
})
