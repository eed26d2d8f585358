// The `presence-churn` scenario: 500 Echo members sit in one presence channel while 20 more
// sockets join and leave it at the allowed subscribe rate (BRIDGE_MAX_SUBSCRIBES_PER_SECOND,
// 20 calls a second each), and publishes go on at a steady rate. Measured: the presence events
// delivered to the members per second, and the publishes' p50/p99 latency and 503s (load
// shedding at its defaults), first without the churn, then with it. It speaks only the
// protocol, so `--bridge-root` can point it at an older checkout for a before/after comparison.
import { setTimeout as sleep } from 'node:timers/promises'
import type { CrowdMember } from './crowd.ts'
import type { PresenceCounts } from './crowd-echo.ts'
import type { BenchChild } from './ipc.ts'
import type { LoadPlan, LoadResult } from './load-generator.ts'
import type { ServerProcess } from './servers.ts'
import { fmt, median, percentiles } from './stats.ts'
import { socketToken } from './tokens.ts'

const CHANNEL = 'presence-churn'
const MEMBERS = 500
const FLAPPERS = 20
const CALLS_PER_SECOND = 20
/** Publishes a second during both phases, into rooms nobody listens to: what is measured is the bridge's responsiveness. */
const PUBLISH_RATE = 200

export interface ChurnSetup {
  crowdChildren: BenchChild[]
  loadGenerator: BenchChild
  /** A bridge with load shedding at its defaults. */
  startBridge: () => Promise<ServerProcess>
  plan: (origin: string, scenario: string, rooms: string[], load: Partial<LoadPlan>) => LoadPlan
  jwtSecret: string
  repeats: number
  quick: boolean
  log: (line: string) => void
}

interface Group { child: BenchChild, name: string }

interface PublishFigures { p50: number, p99: number, accepted: number, shed: number }

interface ChurnRun {
  quiet: PublishFigures
  churn: PublishFigures
  /** presence:joining and presence:leaving received by the 500 members, per second of churn. */
  eventsPerSec: number
  flapCalls: number
  flapRefusals: number
}

const token = (secret: string, userId: string) =>
  socketToken(secret, userId, [CHANNEL], { user_info: { name: `User ${userId}` } })

async function connectGroups (setup: ChurnSetup, name: string, users: string[], server: ServerProcess): Promise<Group[]> {
  const { crowdChildren } = setup
  const plans: CrowdMember[][] = crowdChildren.map(() => [])
  users.forEach((user, i) => plans[i % plans.length]?.push({ url: server.url, token: token(setup.jwtSecret, user), rooms: [], echo: true }))
  return await Promise.all(crowdChildren.map(async (child, c) => {
    await child.request('connect', { name, plan: plans[c] ?? [], concurrency: 50 }, 300_000)
    return { child, name }
  }))
}

async function countsOf (groups: Group[]): Promise<PresenceCounts[]> {
  return await Promise.all(groups.map((group) => group.child.request<PresenceCounts>('presenceCount', { name: group.name, channel: CHANNEL })))
}

const delivered = (all: PresenceCounts[]) => all.reduce((total, counts) => total + counts.joinings + counts.leavings, 0)

function publishFigures (load: LoadResult): PublishFigures {
  const [p50, p99] = percentiles([load.latencies], [50, 99]) as [number, number]
  return { p50, p99, accepted: load.accepted, shed: load.statuses['503'] ?? 0 }
}

async function publishes (setup: ChurnSetup, server: ServerProcess, scenario: string, durationMs: number): Promise<LoadResult> {
  const rooms = Array.from({ length: 100 }, (_, i) => `churn_empty_${i}`)
  const count = Math.round(PUBLISH_RATE * durationMs / 1000)
  return await setup.loadGenerator.request<LoadResult>('run', setup.plan(server.url, scenario, rooms, { connections: 16, rate: PUBLISH_RATE, count }), 600_000)
}

async function once (setup: ChurnSetup, server: ServerProcess, members: Group[], flappers: Group[], durationMs: number): Promise<ChurnRun> {
  const quiet = publishFigures(await publishes(setup, server, 'churn-quiet', durationMs))

  const before = delivered(await countsOf(members))
  const started = performance.now()
  const [load, ...flaps] = await Promise.all([
    publishes(setup, server, 'churn', durationMs),
    ...flappers.map((group) => group.child.request<{ calls: number, refusals: number }>('presenceFlap',
      { name: group.name, channel: CHANNEL, callsPerSecond: CALLS_PER_SECOND, durationMs }, durationMs + 60_000))
  ])
  const seconds = (performance.now() - started) / 1000
  const events = delivered(await countsOf(members)) - before
  // Held announcements end within a second; the next run starts from a settled channel.
  await sleep(1500)
  return {
    quiet,
    churn: publishFigures(load),
    eventsPerSec: events / seconds,
    flapCalls: flaps.reduce((total, flap) => total + flap.calls, 0),
    flapRefusals: flaps.reduce((total, flap) => total + flap.refusals, 0)
  }
}

/** Runs the scenario `repeats` times against one fresh bridge; answers the table's notes. */
export async function presenceChurnScenario (setup: ChurnSetup): Promise<string[]> {
  const durationMs = setup.quick ? 3000 : 10_000
  const server = await setup.startBridge()
  try {
    const members = await connectGroups(setup, 'churn-members', Array.from({ length: MEMBERS }, (_, i) => `member-${i}`), server)
    const flappers = await connectGroups(setup, 'churn-flappers', Array.from({ length: FLAPPERS }, (_, i) => `flapper-${i}`), server)
    await Promise.all(members.map((group) => group.child.request('presenceJoin', { name: group.name, channel: CHANNEL })))
    // Joined once every member knows every other (from its list and the joinings after it).
    const deadline = performance.now() + 120_000
    while ((await countsOf(members)).reduce((total, counts) => total + counts.knownTotal, 0) < MEMBERS * MEMBERS && performance.now() < deadline) await sleep(200)
    setup.log(`  ${MEMBERS} members in ${CHANNEL} on ${server.url}, ${FLAPPERS} flapping sockets connected`)

    const runs: ChurnRun[] = []
    for (let i = 0; i < setup.repeats; i++) {
      const run = await once(setup, server, members, flappers, durationMs)
      runs.push(run)
      setup.log(`  run ${i + 1}/${setup.repeats}: ${fmt(run.eventsPerSec)} presence events/s to the members; publish p99 ${fmt(run.quiet.p99, 1)} ms quiet, ` +
        `${fmt(run.churn.p99, 1)} ms with churn; ${run.churn.shed} shed`)
    }
    for (const group of [...members, ...flappers]) {
      await group.child.request('disconnect', { name: group.name })
      await group.child.request('presenceForget', { name: group.name })
    }
    const pick = (value: (run: ChurnRun) => number) => median(runs.map(value))
    const total = (value: (run: ChurnRun) => number) => runs.reduce((sum, run) => sum + value(run), 0)
    return [
      `${FLAPPERS} sockets joining and leaving at ${CALLS_PER_SECOND} calls/s each for ${durationMs / 1000} s, ${MEMBERS} members watching: ` +
        `${fmt(pick((run) => run.eventsPerSec))} presence events/s delivered to the members`,
      `${PUBLISH_RATE} publishes/s: p50/p99 ${fmt(pick((run) => run.quiet.p50), 1)} / ${fmt(pick((run) => run.quiet.p99), 1)} ms without churn, ` +
        `${fmt(pick((run) => run.churn.p50), 1)} / ${fmt(pick((run) => run.churn.p99), 1)} ms with it`,
      `shed (503) over ${runs.length} runs: ${total((run) => run.quiet.shed)} without churn, ${total((run) => run.churn.shed)} with it; ` +
        `flapping subscribes refused (429): ${total((run) => run.flapRefusals)} of ${total((run) => run.flapCalls)} calls`
    ]
  } finally {
    await server.stop()
  }
}
