// The `failover` scenario: two bridge nodes on a Sentinel set (a primary, a replica, three
// sentinels) and then on a Redis Cluster, a steady 500 publishes/s into node A, 200 clients
// spread over both nodes that come back at once when they lose their connection, and the
// primary killed (on the Cluster: the primary of the bus's slot) a few seconds in. Measured:
// the time from the kill until publishes are answered 202 promptly again, the deliveries owed
// that clients never got, events that came late or twice, and how many clients were told
// `recovered === false`.
import { setTimeout as sleep } from 'node:timers/promises'
import { countGaps, countNeverReceived } from './gaps.ts'
import type { BenchChild } from './ipc.ts'
import type { LoadPlan, LoadResult } from './load-generator.ts'
import type { MemberTrace, ReconnectorMember } from './reconnector.ts'
import { startCluster, startSentinels, stopRedisDeployments } from './redis-deployments.ts'
import type { ServerProcess } from './servers.ts'
import { fmt, percentiles, statusLine } from './stats.ts'

export interface FailoverSetup {
  loadGenerator: BenchChild
  reconnector: BenchChild
  startBridge: (name: string, extra?: Record<string, string>) => Promise<ServerProcess>
  plan: (origin: string, scenario: string, roomNames: string[], load: Partial<LoadPlan>) => LoadPlan
  token: (sub: string) => string
  runId: string
  quick: boolean
  log: (line: string) => void
}

const RATE = 500
const rooms = Array.from({ length: 50 }, (_, i) => `failover_${i}`)

interface Deployment {
  label: string
  env: Record<string, string>
  /** Kills the primary that matters; resolves once Redis has a new one. */
  killPrimary: () => Promise<void>
}

async function measureFailover (setup: FailoverSetup, deployment: Deployment): Promise<string> {
  const { log, quick } = setup
  const durationMs = quick ? 10_000 : 20_000
  const killAfterMs = quick ? 3000 : 5000
  const nodes = [await setup.startBridge(`failover-${deployment.label}-a`, deployment.env), await setup.startBridge(`failover-${deployment.label}-b`, deployment.env)]
  const name = `failover-${deployment.label}`
  try {
    const members: ReconnectorMember[] = Array.from({ length: 200 }, (_, i) => ({
      url: (nodes[i % 2] as ServerProcess).url,
      token: setup.token(`failover-${i}`),
      room: rooms[Math.floor(i / 4)] as string
    }))
    await setup.reconnector.request('connect', { name, plan: members }, 120_000)
    await setup.reconnector.request('rejoin', { name })
    await sleep(1000)
    const origin = (nodes[0] as ServerProcess).url
    const loading = setup.loadGenerator.request<LoadResult>('run', setup.plan(origin, name, rooms, {
      connections: 64, rate: RATE, count: RATE * durationMs / 1000, recordAccepted: true, openConnectionsFirst: true
    }), 600_000)
    await sleep(killAfterMs)
    const killedAt = Date.now()
    await deployment.killPrimary()
    const promotedMs = Date.now() - killedAt
    const load = await loading
    // Deliveries still on their way, and clients still coming back.
    await sleep(5000)
    const traces = await setup.reconnector.request<MemberTrace[]>('report', { name })
    await setup.reconnector.request('disconnect', { name })

    const accepted = new Set(load.acceptedSeqs ?? [])
    const dueAt = (seq: number) => load.startedAt + seq * 1000 / RATE
    // Serving again: from the kill until the last 503 or slow answer (over half a second) came back.
    let servedAgainAt = killedAt
    for (let seq = 0; seq < load.sent; seq++) if (!accepted.has(seq) && dueAt(seq) >= killedAt) servedAgainAt = Math.max(servedAgainAt, dueAt(seq))
    ;(load.acceptedSeqs ?? []).forEach((seq, i) => {
      const latency = load.latencies[i] as number
      if (latency > 500 && dueAt(seq) + latency >= killedAt) servedAgainAt = Math.max(servedAgainAt, dueAt(seq) + latency)
    })
    const servingAgainMs = servedAgainAt - killedAt
    const [slowest] = percentiles([load.latencies], [100]) as [number]
    const gaps = countGaps(traces, load.acceptedSeqs ?? [], rooms)
    const { owed, neverUntold, neverTold, twice } = countNeverReceived(traces, load.acceptedSeqs ?? [], rooms)
    const line = `${deployment.label}: new primary ${fmt(promotedMs / 1000, 1)} s after the kill; serving again (every publish answered 202 within 0.5 s) ${fmt(servingAgainMs / 1000, 1)} s after it ` +
      `(${fmt(load.sent - load.accepted)} of ${fmt(load.sent)} not accepted; ${statusLine(load)}; the slowest 202 took ${fmt(slowest / 1000, 1)} s); ` +
      `of ${fmt(owed)} deliveries owed, never received: ${fmt(neverUntold)} by clients never told, ${fmt(neverTold)} by clients told recovered === false ` +
      `(in order: ${fmt(gaps.missedWhileRecovered)} missed while recovered, ${fmt(gaps.missedAcrossRestart)} across a restart); ` +
      `received twice: ${fmt(twice)}, received after a later event (repeats included): ${fmt(gaps.duplicates)}; clients told recovered === false: ${gaps.restarted} (reconnects recovered: ${gaps.recovered})`
    log(`  ${line}`)
    return line
  } finally {
    await Promise.all(nodes.map((node) => node.stop()))
  }
}

export async function failoverScenario (setup: FailoverSetup): Promise<string[]> {
  const { log } = setup
  log(`failover: a Redis primary killed under a steady ${RATE} publishes/s, two bridge nodes, 200 clients; on Sentinel, then on a Redis Cluster`)
  const prefix = `bench-${setup.runId}:`
  const lines: string[] = []
  try {
    const sentinels = await startSentinels()
    lines.push(await measureFailover(setup, {
      label: 'sentinel',
      env: { REDIS_SENTINELS: sentinels.sentinels, REDIS_SENTINEL_NAME: sentinels.name, BRIDGE_REDIS_PREFIX: prefix },
      killPrimary: async () => { await sentinels.killPrimary() }
    }))
    const cluster = await startCluster()
    lines.push(await measureFailover(setup, {
      label: 'cluster',
      env: { REDIS_CLUSTER_NODES: cluster.nodes, BRIDGE_REDIS_PREFIX: prefix },
      killPrimary: async () => { await cluster.killPrimary(await cluster.primaryOf(`${prefix}bus`)) }
    }))
  } finally {
    await stopRedisDeployments()
  }
  return lines
}
