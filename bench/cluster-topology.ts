// The `cluster-topology` scenario: 2 and 4 bridge nodes on one Redis and on a Redis Cluster
// (three primaries with a replica each), both started by the benchmark, with a lone bridge as
// the yardstick. For each: publishes/s (closed loop), e2e p99 and CPU per publish per node at a
// steady 500 publishes/s with sockets on every node, Redis commands per publish (summed over
// the primaries), and the CPU a node spends on traffic while none of its sockets is in any
// of the channels (every socket on the node that takes the publishes).
import { setTimeout as sleep } from 'node:timers/promises'
import type { BenchChild } from './ipc.ts'
import type { LoadPlan } from './load-generator.ts'
import { measureLoad, measureRun, summarize, type Crowd, type RunFigures } from './measure.ts'
import { commandStats, resetCommandStats, startCluster, startSingleRedis, stopRedisDeployments, total } from './redis-deployments.ts'
import type { ServerProcess } from './servers.ts'
import { fmt, markdownTable, median } from './stats.ts'
import type { RedisProcess } from '../test/helpers/redis-topologies.ts'

export interface ClusterTopologySetup {
  loadGenerator: BenchChild
  crowdChildren: BenchChild[]
  startBridge: (name: string, extra?: Record<string, string>) => Promise<ServerProcess>
  connectCrowds: (crowdChildren: BenchChild[], name: string, count: number, urlOf: (i: number) => string, roomsOf: (i: number) => string[]) => Promise<Crowd[]>
  disconnectCrowds: (crowds: Crowd[]) => Promise<void>
  plan: (origin: string, scenario: string, roomNames: string[], load: Partial<LoadPlan>) => LoadPlan
  runId: string
  /** What `/metrics` asks of the bridges (BRIDGE_METRICS_TOKEN). */
  metricsToken: string
  repeats: number
  quick: boolean
  log: (line: string) => void
}

interface Deployment {
  label: string
  nodes: number
  env: Record<string, string>
  primaries: RedisProcess[]
}

interface TopologyFigures {
  label: string
  saturated: RunFigures
  steady: RunFigures
  /** CPU µs per publish of each node at the steady rate (node A takes the publishes). */
  cpuPerNode: number[]
  commandsPerPublish: number
  topCommands: string
  /** CPU µs per publish of the nodes without sockets, beyond what they spend idle. */
  bystanderCpu: number
}

const rooms = Array.from({ length: 50 }, (_, i) => `group_${i}`)

async function shardsRead (node: ServerProcess, metricsToken: string): Promise<number> {
  const text = await (await fetch(`${node.url}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } })).text()
  return Number(/^bridge_backplane_shards_read (\S+)$/m.exec(text)?.[1] ?? Number.NaN)
}

/** Waits (at most 30 s) until none of `nodes` reads a shard of the bus. */
async function shardsLetGo (nodes: ServerProcess[], { log, metricsToken }: ClusterTopologySetup): Promise<void> {
  const started = performance.now()
  while (performance.now() - started < 30_000) {
    const read = await Promise.all(nodes.map((node) => shardsRead(node, metricsToken)))
    if (read.every((count) => count === 0)) return
    await sleep(500)
  }
  log('  (the other nodes still read shards of the bus after 30 s)')
}

async function cpuOf (nodes: ServerProcess[]): Promise<number[]> {
  return (await Promise.all(nodes.map((node) => node.usage()))).map((usage) => usage.cpuMicros)
}

async function measureDeployment (setup: ClusterTopologySetup, deployment: Deployment): Promise<TopologyFigures> {
  const { log, quick } = setup
  const nodes: ServerProcess[] = []
  for (let i = 0; i < deployment.nodes; i++) nodes.push(await setup.startBridge(`topology-${deployment.label.replace(/\W+/g, '-')}-${i + 1}`, deployment.env))
  const [nodeA] = nodes as [ServerProcess]
  const steadyLoad = { connections: 16, rate: 500, count: quick ? 500 : 2500 }
  const plan = (scenario: string, load: Partial<LoadPlan>) => setup.plan(nodeA.url, scenario, rooms, load)
  try {
    // Sockets on every node: room i has four, one on each of up to four nodes.
    const spread = await setup.connectCrowds(setup.crowdChildren, 'topology', 200, (i) => (nodes[i % nodes.length] as ServerProcess).url, (i) => [rooms[Math.floor(i / 4)] as string])
    await sleep(1000)
    await measureRun({ loadGenerator: setup.loadGenerator, servers: nodes, crowds: spread, plan: plan('topology-warm-up', { ...steadyLoad, count: 500 }) })
    const saturatedRuns: RunFigures[] = []
    const steadyRuns: RunFigures[] = []
    const perNodeRuns: number[][] = nodes.map(() => [])
    const commandRuns: number[] = []
    let commands = new Map<string, number>()
    for (let run = 0; run < setup.repeats; run++) {
      saturatedRuns.push(await measureRun({ loadGenerator: setup.loadGenerator, servers: nodes, crowds: spread, plan: plan('topology-saturated', { connections: 32, durationMs: quick ? 1500 : 4000 }) }))
      await resetCommandStats(deployment.primaries)
      const before = await cpuOf(nodes)
      const { figures: steady, load } = await measureLoad({ loadGenerator: setup.loadGenerator, servers: nodes, crowds: spread, plan: plan('topology-steady', steadyLoad) })
      const after = await cpuOf(nodes)
      steadyRuns.push(steady)
      const publishes = load.accepted === 0 ? Number.NaN : load.accepted
      nodes.forEach((_, n) => perNodeRuns[n]?.push(((after[n] as number) - (before[n] as number)) / publishes))
      if (deployment.primaries.length > 0) {
        commands = await commandStats(deployment.primaries)
        commandRuns.push(total(commands) / publishes)
      }
      log(`  ${deployment.label} run ${run + 1}/${setup.repeats}: ${fmt(saturatedRuns.at(-1)?.publishesPerSec)} publishes/s closed loop; at 500/s e2e p99 ${fmt(steady.e2eP99, 1)} ms, ` +
        `CPU µs per publish per node ${nodes.map((_, n) => fmt(perNodeRuns[n]?.at(-1), 0)).join(' / ')}` +
        (commandRuns.length > 0 ? `, ${fmt(commandRuns.at(-1), 1)} Redis commands per publish` : ''))
    }
    await setup.disconnectCrowds(spread)

    // Every socket on node A: the other nodes hold none of the channels' audiences.
    let bystanderCpu = Number.NaN
    if (nodes.length > 1) {
      const others = nodes.slice(1)
      const gathered = await setup.connectCrowds(setup.crowdChildren, 'topology', 200, () => nodeA.url, (i) => [rooms[Math.floor(i / 4)] as string])
      await sleep(1000)
      // On a Redis Cluster a node reads a shard a while after its last socket there left: measured once none is read.
      if (deployment.env.REDIS_CLUSTER_NODES !== undefined) await shardsLetGo(others, setup)
      const quietMs = quick ? 1000 : 5000
      const quietBefore = await cpuOf(others)
      await sleep(quietMs)
      const quietAfter = await cpuOf(others)
      const idlePerMs = others.map((_, n) => ((quietAfter[n] as number) - (quietBefore[n] as number)) / quietMs)
      const runs: number[] = []
      for (let run = 0; run < setup.repeats; run++) {
        const before = await cpuOf(others)
        const started = performance.now()
        const { load } = await measureLoad({ loadGenerator: setup.loadGenerator, servers: nodes, crowds: gathered, plan: plan('topology-bystander', steadyLoad) })
        const elapsedMs = performance.now() - started
        const after = await cpuOf(others)
        const extra = others.map((_, n) => (after[n] as number) - (before[n] as number) - (idlePerMs[n] as number) * elapsedMs)
        runs.push(median(extra) / load.accepted)
      }
      bystanderCpu = median(runs)
      log(`  ${deployment.label}: a node without sockets spends ${fmt(bystanderCpu, 0)} µs CPU per publish beyond its idle ${fmt(median(idlePerMs) * 1000, 0)} µs/s`)
      await setup.disconnectCrowds(gathered)
    }
    return {
      label: deployment.label,
      saturated: summarize(saturatedRuns),
      steady: summarize(steadyRuns),
      cpuPerNode: perNodeRuns.map((runs) => median(runs)),
      commandsPerPublish: median(commandRuns),
      topCommands: [...commands.entries()].sort((a, b) => b[1] - a[1]).slice(0, 4).map(([name, calls]) => `${name} ${fmt(calls / steadyLoad.count, 1)}`).join(', '),
      bystanderCpu
    }
  } finally {
    await Promise.all(nodes.map((node) => node.stop()))
  }
}

export async function clusterTopologyScenario (setup: ClusterTopologySetup): Promise<string[]> {
  const { log } = setup
  log('cluster-topology: 2 and 4 bridge nodes on one Redis and on a Redis Cluster (3 primaries + 3 replicas), a lone bridge beside them')
  const prefix = `bench-${setup.runId}:`
  try {
    const single = await startSingleRedis()
    const cluster = await startCluster()
    const primaries = await cluster.primaries()
    log(`  one Redis at ${single.url}; Redis Cluster ${cluster.nodes}`)
    const deployments: Deployment[] = [
      { label: 'one bridge, no Redis', nodes: 1, env: {}, primaries: [] },
      ...[2, 4].flatMap((nodes): Deployment[] => [
        { label: `${nodes} nodes, one Redis`, nodes, env: { REDIS_URL: single.url, BRIDGE_REDIS_PREFIX: `${prefix}${nodes}:` }, primaries: [single.process] },
        { label: `${nodes} nodes, Redis Cluster`, nodes, env: { REDIS_CLUSTER_NODES: cluster.nodes, BRIDGE_REDIS_PREFIX: `${prefix}${nodes}:` }, primaries }
      ])
    ]
    const results: TopologyFigures[] = []
    for (const deployment of deployments) results.push(await measureDeployment(setup, deployment))

    const table = markdownTable(
      ['deployment', 'publishes/s (closed loop)', 'e2e p50/p99 ms at 500/s', 'lost', 'CPU µs/publish per node (A takes the publishes)', 'Redis commands/publish', 'bystander node CPU µs/publish'],
      results.map((result) => [
        result.label,
        fmt(result.saturated.publishesPerSec),
        `${fmt(result.steady.e2eP50, 2)} / ${fmt(result.steady.e2eP99, 2)}`,
        String(result.steady.lost + result.steady.extra + result.saturated.lost + result.saturated.extra),
        result.cpuPerNode.map((cpu) => fmt(cpu, 0)).join(' / '),
        Number.isNaN(result.commandsPerPublish) ? '-' : `${fmt(result.commandsPerPublish, 1)} (${result.topCommands})`,
        fmt(result.bystanderCpu, 0)
      ]))
    const perNode = (result: TopologyFigures) => result.cpuPerNode.reduce((sum, cpu) => sum + cpu, 0) / result.cpuPerNode.length
    const ratios = [2, 4].map((nodes) => {
      const one = results.find((result) => result.label === `${nodes} nodes, one Redis`)
      const many = results.find((result) => result.label === `${nodes} nodes, Redis Cluster`)
      return one === undefined || many === undefined ? '' : `${nodes} nodes: ${fmt(perNode(many), 0)} vs ${fmt(perNode(one), 0)} µs (${fmt(perNode(many) / perNode(one), 2)}×)`
    })
    const notes = [
      ...results.map((result) => `${result.label}: ${fmt(result.saturated.publishesPerSec)} publishes/s closed loop; at 500/s e2e p99 ${fmt(result.steady.e2eP99, 1)} ms, ` +
        `CPU µs per publish per node ${result.cpuPerNode.map((cpu) => fmt(cpu, 0)).join(' / ')}` +
        (Number.isNaN(result.commandsPerPublish) ? '' : `, ${fmt(result.commandsPerPublish, 1)} Redis commands per publish (${result.topCommands})`) +
        (Number.isNaN(result.bystanderCpu) ? '' : `, a node without sockets ${fmt(result.bystanderCpu, 0)} µs CPU per publish`)),
      `CPU per publish per node, Redis Cluster vs one Redis (target at most 1.5×): ${ratios.join('; ')}`,
      ...results.flatMap((result) => [...result.steady.notes, ...result.saturated.notes].map((note) => `${result.label}: ${note}`))
    ]
    process.stdout.write(`\n${table}\n`)
    return notes
  } finally {
    await stopRedisDeployments()
  }
}
