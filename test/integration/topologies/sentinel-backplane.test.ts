// The backplane on a Sentinel-managed primary (a primary, a replica, three sentinels this test
// starts), against the conformance suite every deployment passes.
import t from 'tap'
import { conformance, deploymentOf } from '../../helpers/backplane-conformance.ts'
import { sentinelEnv, startSentinelSet } from '../../helpers/redis-topologies.ts'

t.setTimeout(180_000)

const set = await startSentinelSet(t)
conformance(t, { name: 'sentinel', spansNodes: true, deployment: (t) => deploymentOf(t, sentinelEnv(set)) })
