// Cluster mode keeps de-duplication claims in Redis: a node starting on a Redis whose
// maxmemory-policy could evict them says so at start, in a line naming the policy and why.
import t, { type Test } from 'tap'
import { buildApp, captureLogs } from '../../helpers/bridge.ts'
import { clusterEnv, privateRedis, redisClient } from '../../helpers/redis.ts'

// A private redis-server per case and a node starting on each: more than the default minute on a busy machine.
t.setTimeout(120_000)

const warning = /^cluster mode: Redis's maxmemory-policy is /
const uncheckable = /^cluster mode: could not read Redis's maxmemory-policy/

/** The log lines of a node started on a private Redis set to `policy`. */
async function startLines (t: Test, policy: string) {
  const redis = await privateRedis(t)
  const admin = await redisClient(t, redis.url)
  await admin.configSet('maxmemory-policy', policy)
  const logs = captureLogs()
  await buildApp(t, { ...clusterEnv(t, redis.url), LOG_LEVEL: 'info' }, { logStream: logs.stream })
  return logs.lines
}

for (const policy of ['allkeys-lru', 'allkeys-random', 'volatile-lru', 'volatile-ttl']) {
  t.test(`maxmemory-policy ${policy}: a warning at start names it and why it may evict claims`, async (t) => {
    const lines = await startLines(t, policy)
    const found = lines.filter((line) => warning.test(String(line.msg)))
    t.equal(found.length, 1, 'one line')
    t.match(found[0], {
      level: 40,
      maxmemoryPolicy: policy,
      msg: new RegExp(`is ${policy}: .*evict de-duplication claims \\((${policy.startsWith('volatile-') ? 'volatile-\\* policies evict keys that have a time-to-live' : 'allkeys-\\* policies evict any key'}).*set maxmemory-policy to noeviction$`)
    })
  })
}

t.test('maxmemory-policy noeviction: no warning', async (t) => {
  const lines = await startLines(t, 'noeviction')
  t.ok(lines.some((line) => line.msg === 'cluster mode: connected to Redis'), 'the node started in cluster mode')
  t.same(lines.filter((line) => warning.test(String(line.msg)) || uncheckable.test(String(line.msg))), [])
})

t.test('CONFIG refused (as on managed Redis): one info line says the policy could not be checked', async (t) => {
  const redis = await privateRedis(t)
  const admin = await redisClient(t, redis.url)
  await admin.configSet('maxmemory-policy', 'allkeys-lru')
  await admin.sendCommand(['ACL', 'SETUSER', 'bridge', 'on', '>bridge-password-0123456789', '~*', '&*', '+@all', '-config'])
  const logs = captureLogs()
  const env = { ...clusterEnv(t, redis.url), REDIS_URL: redis.url.replace('redis://', 'redis://bridge:bridge-password-0123456789@'), LOG_LEVEL: 'info' }
  await buildApp(t, env, { logStream: logs.stream })
  const found = logs.lines.filter((line) => uncheckable.test(String(line.msg)))
  t.equal(found.length, 1, 'one line')
  t.match(found[0], { level: 30, redis: redis.url })
  t.notMatch(JSON.stringify(found[0]), /bridge-password/, 'without the password')
  t.same(logs.lines.filter((line) => warning.test(String(line.msg))), [], 'and no guess at the policy')
})
