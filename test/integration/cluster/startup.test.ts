// Nodes starting together: each waits for the others' presence members, and says it started
// without them only when a live node's members really did not come.
import t from 'tap'
import { buildApp, captureLogs, waitFor } from '../../helpers/bridge.ts'
import { clusterEnv, redisClient } from '../../helpers/redis.ts'

t.setTimeout(120_000)

const MISSING = 'cluster mode: started without every node\'s presence members; they follow'

t.test('two nodes started together log no missing presence members', async (t) => {
  const env = { ...clusterEnv(t), LOG_LEVEL: 'info' }
  const redis = await redisClient(t)
  const first = captureLogs()
  const second = captureLogs()
  const firstStarted = buildApp(t, env, { logStream: first.stream })
  // The second starts once the first said hello: it never reads that hello, the race of an ordinary start.
  await waitFor(async () => (await redis.xLen(`${env.BRIDGE_REDIS_PREFIX}bus`)) > 0, 'the first node\'s hello')
  await Promise.all([firstStarted, buildApp(t, env, { logStream: second.stream })])
  t.same([...first.lines, ...second.lines].filter((line) => line.msg === MISSING), [], 'neither node says members are missing')
})

t.test('a live node that never sends its members is named', async (t) => {
  const env = { ...clusterEnv(t), LOG_LEVEL: 'info' }
  const redis = await redisClient(t)
  // A node that beats but never answers hellos (stuck, or another version): its members are missing.
  const beat = () => redis.xAdd(`${env.BRIDGE_REDIS_PREFIX}bus`, '*', { t: 'beat', n: 'silent-node' })
  await beat()
  const timer = setInterval(() => { beat().catch(() => {}) }, 300)
  t.teardown(() => clearInterval(timer))
  const logs = captureLogs()
  await buildApp(t, env, { logStream: logs.stream })
  const line = await logs.line(MISSING)
  t.match(line, { level: 40, missing: ['silent-node'] })
})
