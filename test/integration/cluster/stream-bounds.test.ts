// What the bus keeps in Redis is bounded whatever the traffic: an idle node's heartbeats trim
// the stream by age, a burst of publishes stays within the entry cap
// (BRIDGE_REDIS_STREAM_MAX_ENTRIES), a node that fell behind past the cap says so, and every
// other key expires within its window.
import t from 'tap'
import { connectClient, freePort, postJson, startBridge, startServer, subscribe } from '../../helpers/bridge.ts'
import { dropConnection } from '../../helpers/recovery.ts'
import { clusterEnv, privateRedis, redisClient, waitFor } from '../../helpers/redis.ts'

t.setTimeout(180_000)

/** The stream's entries by age: those older than `ms`. */
async function olderThan (client: Awaited<ReturnType<typeof redisClient>>, stream: string, ms: number): Promise<number> {
  const entries = await client.xRange(stream, '-', `${Date.now() - ms}`) ?? []
  return entries.length
}

/** `count` publishes, `inFlight` at a time; answers how many were accepted. */
async function publishMany (url: string, count: number, inFlight = 20): Promise<number> {
  let next = 0
  let accepted = 0
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next < count) {
      const n = next++
      if ((await postJson(url, '/api/sms/new-message', { room: `chat_${n % 10}`, message: { n } })).status === 202) accepted += 1
    }
  }))
  return accepted
}

t.test('an idle node trims the stream by age with every heartbeat', async (t) => {
  const redis = await privateRedis(t)
  const env = clusterEnv(t, redis.url)
  const stream = `${env.BRIDGE_REDIS_PREFIX}bus`
  const client = await redisClient(t, redis.url)
  // What a node that stopped ten minutes ago left behind.
  const tenMinutesAgo = Date.now() - 10 * 60 * 1000
  for (let i = 0; i < 300; i++) await client.xAdd(stream, `${tenMinutesAgo + i}-0`, { t: 'beat', n: 'gone' })

  const monitor = await redisClient(t, redis.url)
  const appends: string[] = []
  await monitor.monitor((line) => { if (String(line).includes('"XADD"')) appends.push(String(line)) })
  await startBridge(t, env)
  await waitFor('the old entries to be trimmed', async () => await olderThan(client, stream, 2 * 60 * 1000 + 1000) === 0)
  await waitFor('two heartbeats', async () => appends.filter((line) => line.includes('"beat"')).length >= 2)
  t.ok(appends.length >= 3, 'the node appended its hello and heartbeats')
  t.same(appends.filter((line) => !/"(MINID|MAXLEN)" "~"/.test(line)), [], 'every append trims')
})

t.test('a burst of publishes keeps the stream within its entry cap', async (t) => {
  const redis = await privateRedis(t)
  const env = { ...clusterEnv(t, redis.url), BRIDGE_REDIS_STREAM_MAX_ENTRIES: '1000' }
  const { url } = await startBridge(t, env)
  const client = await redisClient(t, redis.url)
  t.equal(await publishMany(url, 3000), 3000, 'every publish accepted')
  // Trimming with `~` removes whole nodes of the stream: it may keep up to one node more.
  const perNode = Number((await client.configGet('stream-node-max-entries'))['stream-node-max-entries'])
  const length = await client.xLen(`${env.BRIDGE_REDIS_PREFIX}bus`)
  t.ok(length <= 1000 + perNode, `${length} entries kept after 3000 appends`)
})

t.test('a node that fell behind past the cap logs that it missed entries', async (t) => {
  const redis = await privateRedis(t)
  const env = { ...clusterEnv(t, redis.url), BRIDGE_REDIS_STREAM_MAX_ENTRIES: '1000' }
  const a = await startBridge(t, env)
  const port = await freePort()
  const b = startServer({ ...env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info' })
  t.teardown(() => { b.child.kill('SIGKILL') })
  await b.logLine('Server listening')

  // Frozen, it reads nothing while node A appends three times the cap.
  b.child.kill('SIGSTOP')
  t.equal(await publishMany(a.url, 3000), 3000)
  b.child.kill('SIGCONT')
  const line = await Promise.race([
    b.logLine('cluster bus: this node fell behind'),
    new Promise<never>((_resolve, reject) => setTimeout(() => reject(new Error('node B never logged that it missed entries')), 30_000).unref())
  ])
  t.match(line, { level: 40, maxEntries: 1000 })
})

t.test('every key a node writes expires within its window: sessions within BRIDGE_RECOVERY_WINDOW, claims within BRIDGE_IDEMPOTENCY_TTL', async (t) => {
  const env = { ...clusterEnv(t), BRIDGE_RECOVERY_WINDOW: '5', BRIDGE_IDEMPOTENCY_TTL: '30' }
  const { fastify, url } = await startBridge(t, env)
  const client = await connectClient(t, url)
  await subscribe(client, 'chat_keys')
  t.equal((await postJson(url, '/api/sms/new-message', { room: 'chat_keys', message: {}, uuid: 'kept-key' })).status, 202)
  await dropConnection(client, fastify)

  const redis = await redisClient(t)
  const keys: string[] = []
  await waitFor('a dropped session and a claim in Redis', async () => {
    keys.length = 0
    for await (const found of redis.scanIterator({ MATCH: `${env.BRIDGE_REDIS_PREFIX}*`, COUNT: 1000 })) keys.push(...found)
    return keys.some((key) => key.includes('session:') && !key.includes('live:') && !key.endsWith('session:nodes')) && keys.some((key) => key.includes('idempotency:'))
  })
  for (const key of keys) {
    if (key === `${env.BRIDGE_REDIS_PREFIX}bus`) continue
    const ttl = await redis.pTTL(key)
    const window = key.includes('idempotency:') ? 30_000 : 5000
    t.ok(ttl > 0 && ttl <= window, `${key.slice(env.BRIDGE_REDIS_PREFIX.length)} expires within ${window} ms (${ttl})`)
  }
  t.ok(keys.length >= 3, `${keys.length} keys: the stream, a session, a claim at least`)
})
