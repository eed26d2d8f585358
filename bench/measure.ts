// One measured run of a scenario: load on the servers, deliveries to the crowd, the servers'
// CPU time over the run, and the counts that prove nothing was lost.
import { setTimeout as sleep } from 'node:timers/promises'
import type { BenchChild } from './ipc.ts'
import type { CrowdMember, CrowdReport } from './crowd.ts'
import type { LoadPlan, LoadResult } from './load-generator.ts'
import type { ServerProcess } from './servers.ts'
import { median, percentiles } from './stats.ts'

/** A group of members in a crowd process, in the order it reports them. */
export interface Crowd {
  child: BenchChild
  name: string
  plan: CrowdMember[]
}

export interface RunFigures {
  publishesPerSec: number
  deliveriesPerSec: number
  /** Events an accepted publish owed a subscribed socket that never arrived. */
  lost: number
  /** Events a socket received beyond what it was owed (duplicates or strays). */
  extra: number
  /** Publishes that were not answered 202 (any other status, or a transport error). */
  refused: number
  httpP50: number
  httpP99: number
  e2eP50: number
  e2eP99: number
  cpuPerPublish: number
  cpuPerDelivery: number
  /** Share of the servers' CPU time spent in the kernel. */
  systemShare: number
  notes: string[]
}

export interface RunSetup {
  loadGenerator: BenchChild
  plan: LoadPlan
  /** Servers whose CPU time counts (every bridge node taking part). */
  servers: ServerProcess[]
  crowds: Crowd[]
  /** Longest wait for the last deliveries after the last answer. */
  drainMs?: number
}

async function cpuMicros (servers: ServerProcess[]): Promise<{ total: number, system: number }> {
  const usages = await Promise.all(servers.map((server) => server.usage()))
  return {
    total: usages.reduce((sum, usage) => sum + usage.cpuMicros, 0),
    system: usages.reduce((sum, usage) => sum + usage.systemMicros, 0)
  }
}

async function receivedSoFar (crowds: Crowd[]): Promise<number> {
  const counts = await Promise.all(crowds.map((crowd) => crowd.child.request<number>('count', { name: crowd.name })))
  return counts.reduce((sum, count) => sum + count, 0)
}

export async function measureRun (setup: RunSetup): Promise<RunFigures> {
  return (await measureLoad(setup)).figures
}

/** One run's figures, with the load generator's own answer for scenarios that need more of it. */
export async function measureLoad (setup: RunSetup): Promise<{ figures: RunFigures, load: LoadResult }> {
  const { crowds, servers } = setup
  // Start every crowd from zero.
  await Promise.all(crowds.map((crowd) => crowd.child.request<CrowdReport>('report', { name: crowd.name })))

  const cpuBefore = await cpuMicros(servers)
  const started = performance.now()
  const load = await setup.loadGenerator.request<LoadResult>('run', setup.plan, 600_000)

  const owed = (member: CrowdMember) => member.rooms.reduce((sum, room) => sum + (load.acceptedPerRoom[room] ?? 0), 0)
  const expected = crowds.reduce((sum, crowd) => sum + crowd.plan.reduce((total, member) => total + owed(member), 0), 0)

  // Wait for stragglers: until everything owed arrived, or nothing more arrives for drainMs.
  let received = await receivedSoFar(crowds)
  let lastProgress = performance.now()
  while (received < expected && performance.now() - lastProgress < (setup.drainMs ?? 3000)) {
    await sleep(10)
    const now = await receivedSoFar(crowds)
    if (now > received) lastProgress = performance.now()
    received = now
  }
  const deliveredMs = performance.now() - started
  const cpuAfter = await cpuMicros(servers)
  const cpu = cpuAfter.total - cpuBefore.total

  const reports = await Promise.all(crowds.map((crowd) => crowd.child.request<CrowdReport>('report', { name: crowd.name })))
  let lost = 0
  let extra = 0
  let deliveries = 0
  crowds.forEach((crowd, c) => {
    crowd.plan.forEach((member, m) => {
      const got = reports[c]?.received[m] ?? 0
      const due = owed(member)
      deliveries += got
      if (got < due) lost += due - got
      if (got > due) extra += got - due
    })
  })

  const { accepted } = load
  const refused = load.sent - accepted
  const [httpP50, httpP99] = percentiles([load.latencies], [50, 99]) as [number, number]
  const [e2eP50, e2eP99] = percentiles(reports.map((report) => report.latencies), [50, 99]) as [number, number]
  const notes: string[] = []
  if (refused > 0) {
    const other = Object.entries(load.statuses).filter(([status]) => status !== '202' && status !== '200').map(([status, n]) => `${n}× ${status}`)
    if (load.errors > 0) other.push(`${load.errors}× ${load.firstError ?? 'error'}`)
    notes.push(`not accepted: ${other.join(', ')}`)
  }
  const figures: RunFigures = {
    publishesPerSec: accepted / (load.elapsedMs / 1000),
    deliveriesPerSec: deliveries === 0 ? Number.NaN : deliveries / (deliveredMs / 1000),
    lost,
    extra,
    refused,
    httpP50,
    httpP99,
    e2eP50,
    e2eP99,
    cpuPerPublish: accepted === 0 ? Number.NaN : cpu / accepted,
    cpuPerDelivery: deliveries === 0 ? Number.NaN : cpu / deliveries,
    systemShare: cpu === 0 ? Number.NaN : (cpuAfter.system - cpuBefore.system) / cpu,
    notes
  }
  return { figures, load }
}

/** Repeated runs summed up: the median of each figure, the sum of every loss. */
export function summarize (runs: RunFigures[]): RunFigures {
  const pick = (key: keyof Omit<RunFigures, 'notes'>) => median(runs.map((run) => run[key]))
  const total = (key: 'lost' | 'extra' | 'refused') => runs.reduce((sum, run) => sum + run[key], 0)
  return {
    publishesPerSec: pick('publishesPerSec'),
    deliveriesPerSec: pick('deliveriesPerSec'),
    lost: total('lost'),
    extra: total('extra'),
    refused: total('refused'),
    httpP50: pick('httpP50'),
    httpP99: pick('httpP99'),
    e2eP50: pick('e2eP50'),
    e2eP99: pick('e2eP99'),
    cpuPerPublish: pick('cpuPerPublish'),
    cpuPerDelivery: pick('cpuPerDelivery'),
    systemShare: pick('systemShare'),
    notes: [...new Set(runs.flatMap((run) => run.notes))]
  }
}
