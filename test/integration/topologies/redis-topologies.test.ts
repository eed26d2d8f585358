// The Redis deployments the topology tests start for themselves behave as the real ones do:
// the sentinels promote the replica when the primary dies, and the cluster's replicas take over.
import t from 'tap'
import { createClient } from 'redis'
import { startRedisCluster, startSentinelSet } from '../../helpers/redis-topologies.ts'

t.setTimeout(120_000)

t.test('a Sentinel set promotes the replica, with the data, when the primary dies', async (t) => {
  const set = await startSentinelSet(t)
  const before = await set.primary()
  const client = createClient({ socket: { host: '127.0.0.1', port: before.port } })
  client.on('error', () => {})
  await client.connect()
  t.teardown(() => client.destroy())
  await client.set('kept', 'yes')
  await client.wait(1, 2000)

  const after = await set.killPrimary()
  t.not(after.port, before.port, 'another server is the primary')
  t.equal((await set.primary()).port, after.port, 'the sentinels name it')
  const promoted = createClient({ socket: { host: '127.0.0.1', port: after.port } })
  promoted.on('error', () => {})
  await promoted.connect()
  t.teardown(() => promoted.destroy())
  t.equal(await promoted.get('kept'), 'yes', 'what was replicated is there')
})

t.test('a Redis Cluster spreads slots over three primaries, and a replica takes over a dead one', async (t) => {
  const cluster = await startRedisCluster(t)
  t.equal((await cluster.primaries()).length, 3)
  const owners = new Set<number>()
  for (const key of ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']) owners.add((await cluster.primaryOf(key)).port)
  t.ok(owners.size > 1, `keys land on ${owners.size} primaries`)

  const victim = await cluster.primaryOf('a')
  await cluster.killPrimary(victim)
  const successor = await cluster.primaryOf('a')
  t.not(successor.port, victim.port, 'the slot moved to the replica')
  t.equal((await cluster.primaries()).length, 3, 'three primaries again')
})
