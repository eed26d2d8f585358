// The scale-out scenarios of `npm run bench`: `idle-100k` (bench/idle-many.ts),
// `cluster-topology` (bench/cluster-topology.ts) and `failover` (bench/failover.ts).
import { clusterTopologyScenario, type ClusterTopologySetup } from './cluster-topology.ts'
import { failoverScenario, type FailoverSetup } from './failover.ts'
import { idleManyScenario, type IdleManySetup } from './idle-many.ts'

/**
 * Whether an `--only` name is one of these: `idle` and `cluster` alone pick run.ts's shorter
 * scenarios, not these.
 */
export const isScaleScenario = (name: string) => /^(idle-|cluster-t|fa)/.test(name)

export type ScaleSetup = ClusterTopologySetup & FailoverSetup & IdleManySetup & { only: string[] | undefined }

export async function scaleScenarios (setup: ScaleSetup): Promise<Array<{ id: string, scenario: string, notes: string[] }>> {
  const wanted = (id: string) => setup.only === undefined || setup.only.some((name) => isScaleScenario(name) && id.startsWith(name))
  const rows = []
  if (wanted('idle-100k')) {
    rows.push({ id: 'idle-100k', scenario: '100,000 idle subscribed sockets on one node', notes: await idleManyScenario(setup) })
  }
  if (wanted('cluster-topology')) {
    rows.push({ id: 'cluster-topology', scenario: 'cluster topology: 2 and 4 nodes, one Redis vs Redis Cluster', notes: await clusterTopologyScenario(setup) })
  }
  if (wanted('failover')) {
    rows.push({ id: 'failover', scenario: 'a Redis primary killed under 500 publishes/s', notes: await failoverScenario(setup) })
  }
  return rows
}
