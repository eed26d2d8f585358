// Two bridges on a Redis Cluster (three primaries, three replicas this test starts) act as one,
// as on one Redis.
import t from 'tap'
import { redisClusterEnv, startRedisCluster } from '../../helpers/redis-topologies.ts'
import { twoBridgesActAsOne } from '../../helpers/topology-behaviour.ts'

t.setTimeout(180_000)

const cluster = await startRedisCluster(t)
twoBridgesActAsOne(t, 'redis cluster', () => redisClusterEnv(cluster))
