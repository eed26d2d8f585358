// The real entry point on the other Redis deployments: a wrong one is refused at start with one
// line naming the variable and exit code 1; unreachable sentinels or cluster nodes stop the start
// with one line naming them; a Sentinel set or a Redis Cluster that answers is named at start.
import { once } from 'node:events'
import { createServer, type AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { freePort, startServer } from '../../helpers/bridge.ts'
import { redisClusterEnv, sentinelEnv, startRedisCluster, startSentinelSet } from '../../helpers/redis-topologies.ts'

t.setTimeout(180_000)

t.test('conflicting or malformed deployments: one line naming the variable, exit code 1', async (t) => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ REDIS_CLUSTER_NODES: '127.0.0.1:7000', BRIDGE_REDIS_PREFIX: 'app{bridge}:' }, /^bridge: invalid configuration: BRIDGE_REDIS_PREFIX must not hold a hash tag \({…}\) with REDIS_CLUSTER_NODES: it would put every key of the bridge in one slot of the Redis Cluster, got "app{bridge}:"\n$/],
    [{ REDIS_URL: 'redis://127.0.0.1:6379', REDIS_SENTINELS: '127.0.0.1:26379', REDIS_SENTINEL_NAME: 'm' }, /^bridge: invalid configuration: REDIS_URL and REDIS_SENTINELS are both set/],
    [{ REDIS_SENTINELS: '127.0.0.1:26379' }, /^bridge: invalid configuration: REDIS_SENTINEL_NAME must be set too/],
    [{ REDIS_CLUSTER_NODES: '127.0.0.1' }, /^bridge: invalid configuration: REDIS_CLUSTER_NODES must list host:port entries/]
  ]
  for (const [env, message] of cases) {
    const { child, output } = startServer({ PORT: String(await freePort()), ...env })
    const [code] = await once(child, 'exit')
    t.equal(code, 1, JSON.stringify(env))
    t.match(output().stderr, message)
    t.equal(output().stderr.trim().split('\n').length, 1, 'one line')
  }
})

/**
 * A port held by this test that ends every connection at once: no Redis answers there, and no
 * server another test starts meanwhile can take it (a port only picked free can be).
 */
async function deadPort (t: Test): Promise<number> {
  const server = createServer((socket) => socket.destroy())
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return (server.address() as AddressInfo).port
}

t.test('unreachable sentinels or cluster nodes stop the start, named, with exit code 1', async (t) => {
  const [sentinel, node] = [await deadPort(t), await deadPort(t)]
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ REDIS_SENTINELS: `127.0.0.1:${sentinel}`, REDIS_SENTINEL_NAME: 'bridge-primary' }, new RegExp(`^could not start: cluster mode: the Redis primary "bridge-primary" of the sentinels 127\\.0\\.0\\.1:${sentinel} is unreachable \\(.+\\); gave up after 5 s$`)],
    [{ REDIS_CLUSTER_NODES: `127.0.0.1:${node}` }, new RegExp(`^could not start: cluster mode: the Redis Cluster of 127\\.0\\.0\\.1:${node} is unreachable \\(.+\\); gave up after 5 s$`)]
  ]
  for (const [env, message] of cases) {
    const { child, output } = startServer({ PORT: String(await freePort()), LOG_LEVEL: 'info', ...env })
    const [code] = await once(child, 'exit')
    t.equal(code, 1, JSON.stringify(env))
    const fatal = output().stdout.split('\n').filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { level: number, msg: string }).find((line) => line.level === 60)
    t.match(fatal?.msg, message)
  }
})

t.test('on a Sentinel set and on a Redis Cluster it starts, and says which', async (t) => {
  const set = await startSentinelSet(t)
  const cluster = await startRedisCluster(t)
  const expected: Array<[Record<string, string>, string]> = [
    [sentinelEnv(set), `cluster mode on the Redis primary "${set.name}" of the sentinels ${set.sentinels.split(',').join(', ')}`],
    [redisClusterEnv(cluster), `cluster mode on the Redis Cluster of ${cluster.nodes.split(',').join(', ')}`]
  ]
  for (const [env, named] of expected) {
    const server = startServer({ PORT: String(await freePort()), LOG_LEVEL: 'info', ...env })
    t.teardown(() => { server.child.kill('SIGKILL') })
    const started = await server.logLine('started: ')
    t.ok(String(started.msg).includes(named), named)
    const exited = once(server.child, 'exit')
    server.child.kill('SIGTERM')
    t.same(await exited, [0, null], 'SIGTERM closes it cleanly')
  }
})
