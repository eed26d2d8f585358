// The cluster's transport: recovery that never hides a gap across nodes, presence members
// that follow nodes coming and dying, a hung Redis taken for down, and nothing of a user's
// credentials ever sent to Redis.
import t from 'tap'
import {
  connectClient,
  freePort,
  postJson,
  secrets,
  securedEnv,
  socketToken,
  startBridge,
  startServer,
  subscribe,
  type TestClient
} from '../../helpers/bridge.ts'
import { countingPublisher, dropConnection, gapCheck, reconnect } from '../../helpers/recovery.ts'
import { loadBalancer } from '../../helpers/load-balancer.ts'
import { clusterEnv, privateRedis, redisClient, waitFor } from '../../helpers/redis.ts'

// Two nodes, a process to kill and a Redis to freeze: more than the default minute.
t.setTimeout(240_000)

t.test('recovered === true never hides a gap when clients come back on the other node', async (t) => {
  const env = clusterEnv(t)
  const a = await startBridge(t, env)
  const b = await startBridge(t, env)
  const balancer = await loadBalancer(t, a.url)
  const clients = await Promise.all([1, 2, 3].map(() => connectClient(t, balancer.url)))
  for (const client of clients) await subscribe(client, 'chat_gap')
  const checks = clients.map(gapCheck)

  // One publisher counting up, through both nodes in turn.
  const publisher = countingPublisher('chat_gap', (n) => n % 20 === 0 ? a.url : b.url)

  const nodes = [a, b]
  for (let round = 0; round < 6; round++) {
    const from = nodes[round % 2] as typeof a
    const to = nodes[(round + 1) % 2] as typeof a
    balancer.pointTo(to.url)
    await Promise.all(clients.map(async (client, index) => {
      await dropConnection(client, from.fastify)
      await reconnect(client)
      ;(checks[index] as ReturnType<typeof gapCheck>).reconnected()
      if (!client.recovered) await subscribe(client, 'chat_gap')
      await new Promise((resolve) => client.once('new_message', resolve))
    }))
  }
  const published = await publisher.stop()

  const recovered = checks.reduce((sum, check) => sum + check.recovered, 0)
  t.comment(`${published} events, ${recovered} of 18 reconnects recovered`)
  t.ok(recovered > 0, 'recovery happened across nodes')
  t.equal(checks.reduce((sum, check) => sum + check.hiddenGaps, 0), 0, 'no event missing after recovered === true')
  t.equal(checks.reduce((sum, check) => sum + check.duplicates, 0), 0, 'no event twice')
})

/** Resolves with the next presence event of `type` the client receives. */
function nextPresence (client: TestClient, type: 'presence:joining' | 'presence:leaving', ms = 20_000): Promise<[string, unknown]> {
  const socket = client as unknown as { once: (event: string, listener: (...args: unknown[]) => void) => void }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${type} within ${ms} ms`)), ms)
    socket.once(type, (channel, member) => {
      clearTimeout(timer)
      resolve([channel as string, member])
    })
  })
}

t.test('presence members span nodes; a killed node\'s members leave', async (t) => {
  const env = clusterEnv(t)
  const a = await startBridge(t, env)
  const port = await freePort()
  const other = startServer({ ...env, PORT: String(port), LOG_LEVEL: 'info' }, 'test/fixtures/presence-node.ts')
  t.teardown(() => { other.child.kill('SIGKILL') })
  await other.logLine('Server listening')
  const otherUrl = `http://127.0.0.1:${port}`

  const ann = await connectClient(t, a.url)
  const annOnServer = a.fastify.io.of('/').sockets.get(ann.id ?? '')
  if (annOnServer === undefined) throw new Error('no server socket')
  t.same(await a.fastify.transport.presence.join(annOnServer, 'presence-room', { user_id: 'ann' }), [{ user_id: 'ann' }])

  const bobJoins = nextPresence(ann, 'presence:joining')
  await connectClient(t, otherUrl, { auth: { presence: ['presence-room', 'bob'] } })
  t.same(await bobJoins, ['presence-room', { user_id: 'bob' }], 'a user joining on the other node reaches this one')
  await waitFor('both nodes to agree', async () => a.fastify.transport.presence.members('presence-room').length === 2)
  t.same(a.fastify.transport.presence.members('presence-room'), [{ user_id: 'ann' }, { user_id: 'bob' }])

  // Ann on the other node too: still one member, so no joining.
  const noticed: string[] = []
  ;(ann as unknown as { on: (event: string, listener: (channel: string, member: { user_id: string }) => void) => void })
    .on('presence:joining', (_channel, member) => noticed.push(String(member.user_id)))
  await connectClient(t, otherUrl, { auth: { presence: ['presence-room', 'ann'] } })

  const bobLeaves = nextPresence(ann, 'presence:leaving')
  other.child.kill('SIGKILL')
  t.same(await bobLeaves, ['presence-room', { user_id: 'bob' }], 'the killed node\'s member leaves within the heartbeat timeout')
  t.same(a.fastify.transport.presence.members('presence-room'), [{ user_id: 'ann' }], 'Ann stays: she is on this node too')
  t.same(noticed, [], 'Ann\'s second socket announced nothing')
})

t.test('a client back before its node noticed the drop, on the other node, recovers', async (t) => {
  const env = clusterEnv(t)
  const a = await startBridge(t, env)
  const b = await startBridge(t, env)
  const balancer = await loadBalancer(t, a.url)
  const client = await connectClient(t, balancer.url)
  await subscribe(client, 'chat_blip')
  const check = gapCheck(client)
  const first = new Promise((resolve) => client.once('new_message', resolve))
  await postJson(a.url, '/api/sms/new-message', { room: 'chat_blip', message: { n: 0 } })
  await first

  const dropped = new Promise((resolve) => client.once('disconnect', resolve))
  balancer.pointTo(b.url)
  balancer.dropClientsSilently()
  await dropped
  t.equal(a.fastify.io.of('/').sockets.size, 1, 'node A has not noticed: the old socket is still there')
  for (let n = 1; n <= 3; n++) await postJson(a.url, '/api/sms/new-message', { room: 'chat_blip', message: { n } })

  await reconnect(client)
  check.reconnected()
  t.equal(client.recovered, true, 'recovered on node B from the live session')
  const last = new Promise((resolve) => client.on('new_message', (data) => { if ((data.message as { n: number }).n === 4) resolve(data) }))
  await postJson(b.url, '/api/sms/new-message', { room: 'chat_blip', message: { n: 4 } })
  await last
  t.equal(check.hiddenGaps, 0)
  t.equal(check.duplicates, 0)
})

t.test('clients of a SIGKILLed node recover on another node', async (t) => {
  const env = clusterEnv(t)
  const a = await startBridge(t, env)
  const port = await freePort()
  const doomed = startServer({ ...env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info' })
  t.teardown(() => { doomed.child.kill('SIGKILL') })
  await doomed.logLine('Server listening')
  const balancer = await loadBalancer(t, `http://127.0.0.1:${port}`)
  const clients = await Promise.all([1, 2, 3].map(() => connectClient(t, balancer.url)))
  for (const client of clients) await subscribe(client, 'chat_kill')
  const checks = clients.map(gapCheck)
  const firsts = clients.map((client) => new Promise((resolve) => client.once('new_message', resolve)))
  await postJson(a.url, '/api/sms/new-message', { room: 'chat_kill', message: { n: 0 } })
  await Promise.all(firsts)

  balancer.pointTo(a.url)
  const dropped = clients.map((client) => new Promise((resolve) => client.once('disconnect', resolve)))
  doomed.child.kill('SIGKILL')
  await Promise.all(dropped)
  for (let n = 1; n <= 3; n++) await postJson(a.url, '/api/sms/new-message', { room: 'chat_kill', message: { n } })

  for (const [index, client] of clients.entries()) {
    await reconnect(client)
    ;(checks[index] as ReturnType<typeof gapCheck>).reconnected()
  }
  t.same(clients.map((client) => client.recovered), [true, true, true], 'every client recovered its session')
  const lasts = clients.map((client) => new Promise((resolve) => client.on('new_message', (data) => { if ((data.message as { n: number }).n === 4) resolve(data) })))
  await postJson(a.url, '/api/sms/new-message', { room: 'chat_kill', message: { n: 4 } })
  await Promise.all(lasts)
  t.same(checks.map((check) => [check.hiddenGaps, check.duplicates]), [[0, 0], [0, 0], [0, 0]], 'nothing missing, nothing twice')
})

t.test('a Redis that hangs is taken for down: not ready, publishes refused at once, then back', async (t) => {
  const redis = await privateRedis(t)
  const env = clusterEnv(t, redis.url)
  const a = await startBridge(t, env)
  t.equal((await postJson(a.url, '/api/sms/new-message', { room: 'r', message: {} })).status, 202)

  redis.pause()
  t.teardown(() => redis.resume())
  await waitFor('readiness to see the hang', async () => (await fetch(`${a.url}/ready`)).status === 503)
  const refused = await postJson(a.url, '/api/sms/new-message', { room: 'r', message: {}, uuid: 'while-hung' })
  t.equal(refused.status, 503, 'a publish is refused, not left waiting')
  t.match(refused.body, { code: 'BRIDGE_REDIS_UNAVAILABLE' })

  redis.resume()
  await waitFor('readiness to come back', async () => (await fetch(`${a.url}/ready`)).status === 200)
  t.equal((await postJson(a.url, '/api/sms/new-message', { room: 'r', message: {}, uuid: 'while-hung' })).status, 202,
    'the refused uuid was not kept: its retry is published')
})

t.test('room counts travel between nodes as counts and user ids, never tokens or cookies', async (t) => {
  const redis = await privateRedis(t)
  const env = { ...clusterEnv(t, redis.url), ...securedEnv({ BRIDGE_API_SIGNING_SECRET: '' }) }
  const a = await startBridge(t, env)
  const b = await startBridge(t, env)
  const monitor = await redisClient(t, redis.url)
  const seen: string[] = []
  await monitor.monitor((line) => { seen.push(line) })

  const token = socketToken({ sub: 'user-42', rooms: ['chat_*'] })
  const cookie = 'laravel_session=cookie-value-that-must-stay-in-the-process'
  for (const url of [a.url, b.url]) {
    const client = await connectClient(t, url, { auth: { token }, extraHeaders: { cookie } })
    await subscribe(client, 'chat_secret')
  }
  const response = await fetch(`${a.url}/api/rooms/chat_secret`, { headers: { authorization: `Bearer ${secrets.apiToken}` } })
  t.same(await response.json(), { room: 'chat_secret', subscribers: 2, users: 1 })
  const dropped = await connectClient(t, b.url, { auth: { token }, extraHeaders: { cookie } })
  await subscribe(dropped, 'chat_secret')
  await dropConnection(dropped, b.fastify)

  await waitFor('Redis to have seen the traffic', async () => seen.some((line) => line.includes('rpc')))
  const traffic = seen.join('\n')
  t.notMatch(traffic, token, 'no socket token in Redis')
  t.notMatch(traffic, 'cookie-value-that-must-stay-in-the-process', 'no cookie in Redis')
  t.notMatch(traffic, /handshake|authorization/i, 'no handshake or header in Redis')
  t.match(traffic, /user-42/, 'user ids do travel')
})
