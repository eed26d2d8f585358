// A Redis Cluster primary dies under two bridges (the one holding the bus, then another): its
// replica takes over, and both bridges serve again within 15 s of it, without a restart; events
// answered 202 before it are delivered.
import t from 'tap'
import { redisClusterEnv, startRedisCluster } from '../../helpers/redis-topologies.ts'
import { failoverUnderTwoBridges } from '../../helpers/topology-behaviour.ts'

t.setTimeout(180_000)

t.test('the primary holding the bus is killed: the bridges serve again within 15 s, and every accepted event arrives', async (t) => {
  const cluster = await startRedisCluster(t)
  const env = redisClusterEnv(cluster)
  await failoverUnderTwoBridges(t, env, async () => {
    const holder = await cluster.primaryOf(`${env.BRIDGE_REDIS_PREFIX}bus`)
    await cluster.killPrimary(holder)
    t.not((await cluster.primaryOf(`${env.BRIDGE_REDIS_PREFIX}bus`)).port, holder.port, 'its replica holds the bus now')
  })
})

t.test('another primary is killed: the same', async (t) => {
  const cluster = await startRedisCluster(t)
  const env = redisClusterEnv(cluster)
  await failoverUnderTwoBridges(t, env, async () => {
    const holder = await cluster.primaryOf(`${env.BRIDGE_REDIS_PREFIX}bus`)
    const other = (await cluster.primaries()).find((primary) => primary.port !== holder.port)
    if (other === undefined) throw new Error('no other primary')
    await cluster.killPrimary(other)
  })
})
