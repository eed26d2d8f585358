// The backplane on a Redis Cluster (three primaries, three replicas this test starts), against
// the conformance suite every deployment passes.
import t from 'tap'
import { conformance, deploymentOf } from '../../helpers/backplane-conformance.ts'
import { redisClusterEnv, startRedisCluster } from '../../helpers/redis-topologies.ts'

t.setTimeout(180_000)

const cluster = await startRedisCluster(t)
conformance(t, { name: 'redis cluster', spansNodes: true, deployment: (t) => deploymentOf(t, redisClusterEnv(cluster)) })
