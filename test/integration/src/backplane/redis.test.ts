// The backplane of a cluster on Redis (the machine's, under a prefix of this test's own),
// against the conformance suite.
import t from 'tap'
import { clusterEnv } from '../../../helpers/redis.ts'
import { conformance, deploymentOf } from '../../../helpers/backplane-conformance.ts'

t.setTimeout(120_000)

conformance(t, { name: 'redis', spansNodes: true, deployment: (t) => deploymentOf(t, clusterEnv(t)) })
