// The `presence` scenario: 1,000 Echo sockets (in the crowd processes) join one presence
// channel at once and leave it at once, authorized by tokens (a JWT whose `rooms` claim names
// the channel, with a `user_info` claim). Measured on the bridge: joins and leaves per second,
// its CPU time per join and per leave, and how long one more user's `presence:joining` takes to
// reach every member. Announcements are held for a second (contract 5.1), so that figure
// includes the hold, and the leaves are done when the bridge has no subscriber left in the
// channel: a leaving reaches only the members still there when its hold ends.
import { setTimeout as sleep } from 'node:timers/promises'
import type { CrowdMember } from './crowd.ts'
import type { PresenceCounts, PresenceReport } from './crowd-echo.ts'
import type { BenchChild } from './ipc.ts'
import type { ServerProcess } from './servers.ts'
import { fmt, median, percentiles } from './stats.ts'
import { socketToken } from './tokens.ts'

export const PRESENCE_CHANNEL = 'presence-room'
const PROBE_USER = 'presence-probe'

export interface PresenceSetup {
  crowdChildren: BenchChild[]
  server: ServerProcess
  jwtSecret: string
  /** Asks the bridge how many sockets are in the channel (`GET /api/rooms/{room}`). */
  apiToken: string
  repeats: number
  members?: number
  log: (line: string) => void
}

export interface PresenceRun {
  joinsPerSec: number
  cpuPerJoin: number
  leavesPerSec: number
  cpuPerLeave: number
  /** From the extra user's `subscribe` to its `presence:joining` at the last (and the median) member. */
  joiningToAllMs: number
  joiningToHalfMs: number
  /** Members that did not learn of every other member (here-list + joinings), summed over sockets. */
  missing: number
  /** `presence:joining` of a user the socket already knew. */
  duplicates: number
  refusals: number
  /** Members the extra user's `presence:joining` did not reach. */
  watchedMissing: number
  /** `presence:leaving` the members received while everyone left (those still there when each hold ended). */
  leavings: number
}

interface Group { child: BenchChild, name: string }

const memberToken = (secret: string, userId: string) =>
  socketToken(secret, userId, [PRESENCE_CHANNEL], { user_info: { name: `User ${userId}` } })

const cpuMicros = async (server: ServerProcess) => (await server.usage()).cpuMicros

async function countsOf (groups: Group[]): Promise<PresenceCounts> {
  const all = await Promise.all(groups.map((group) => group.child.request<PresenceCounts>('presenceCount', { name: group.name, channel: PRESENCE_CHANNEL })))
  const sum = (key: Exclude<keyof PresenceCounts, 'disconnects'>) => all.reduce((total, counts) => total + counts[key], 0)
  const disconnects: Record<string, number> = {}
  for (const counts of all) {
    for (const [reason, count] of Object.entries(counts.disconnects)) disconnects[reason] = (disconnects[reason] ?? 0) + count
  }
  return { subscribed: sum('subscribed'), refusals: sum('refusals'), joinings: sum('joinings'), leavings: sum('leavings'), knownTotal: sum('knownTotal'), watchedArrivals: sum('watchedArrivals'), disconnects }
}

/** Polls until `done`, or until `progress` has not moved for `drainMs`; answers the last counts. */
async function settle (groups: Group[], done: (counts: PresenceCounts) => boolean, progress: (counts: PresenceCounts) => number, drainMs = 5000): Promise<PresenceCounts> {
  let counts = await countsOf(groups)
  let last = progress(counts)
  let lastProgress = performance.now()
  while (!done(counts) && performance.now() - lastProgress < drainMs) {
    await sleep(10)
    counts = await countsOf(groups)
    if (progress(counts) !== last) {
      last = progress(counts)
      lastProgress = performance.now()
    }
  }
  return counts
}

function reports (groups: Group[]): Promise<PresenceReport[]> {
  return Promise.all(groups.map((group) => group.child.request<PresenceReport>('presenceReport', { name: group.name, channel: PRESENCE_CHANNEL })))
}

async function connect (child: BenchChild, name: string, plan: CrowdMember[]): Promise<Group> {
  await child.request('connect', { name, plan, concurrency: 50 }, 300_000)
  return { child, name }
}

/** Sockets in the channel, as the bridge counts them. */
async function subscribers (setup: PresenceSetup): Promise<number> {
  const response = await fetch(`${setup.server.url}/api/rooms/${PRESENCE_CHANNEL}`, { headers: { authorization: `Bearer ${setup.apiToken}` } })
  return (await response.json() as { subscribers: number }).subscribers
}

async function once (setup: PresenceSetup, members: Group[], probe: Group, n: number): Promise<PresenceRun> {
  const { server } = setup

  // Joins: every member subscribes at once; done when each knows all n members.
  let cpu = await cpuMicros(server)
  let started = performance.now()
  await Promise.all(members.map((group) => group.child.request('presenceJoin', { name: group.name, channel: PRESENCE_CHANNEL })))
  const joined = await settle(members, (counts) => counts.knownTotal >= n * n || counts.refusals > 0, (counts) => counts.knownTotal)
  const joinMs = performance.now() - started
  const joinCpu = await cpuMicros(server) - cpu
  const joinReports = await reports(members)
  const missing = joinReports.flatMap((report) => report.known).reduce((total, known) => total + Math.max(0, n - known), 0)

  // One more user joins the full channel: how long its presence:joining takes to reach everyone.
  await Promise.all(members.map((group) => group.child.request('presenceWatch', { name: group.name, channel: PRESENCE_CHANNEL, userId: PROBE_USER })))
  const probeSentAt = await probe.child.request<number>('presenceJoin', { name: probe.name, channel: PRESENCE_CHANNEL })
  await settle(members, (counts) => counts.watchedArrivals >= n, (counts) => counts.watchedArrivals)
  const watched = (await reports(members)).flatMap((report) => report.watchedAt)
  const [half, last] = watched.length === 0
    ? [Number.NaN, Number.NaN]
    : percentiles([Float64Array.from(watched, (at) => at - probeSentAt)], [50, 100]) as [number, number]
  // The extra user leaves again, outside the measured leaves.
  await probe.child.request('presenceLeave', { name: probe.name, channel: PRESENCE_CHANNEL })
  await settle(members, (counts) => counts.leavings >= n, (counts) => counts.leavings)
  await reports(members)
  await reports([probe])

  // Leaves: every member unsubscribes at once; done when the bridge has carried out the last one.
  cpu = await cpuMicros(server)
  started = performance.now()
  await Promise.all(members.map((group) => group.child.request('presenceLeave', { name: group.name, channel: PRESENCE_CHANNEL })))
  const deadline = performance.now() + 120_000
  while (await subscribers(setup) > 0 && performance.now() < deadline) await sleep(20)
  const leaveMs = performance.now() - started
  const leaveCpu = await cpuMicros(server) - cpu
  // The last holds end a second later; what they announced is counted.
  await sleep(1100)
  const left = await countsOf(members)
  await reports(members)

  return {
    joinsPerSec: n / (joinMs / 1000),
    cpuPerJoin: joinCpu / n,
    leavesPerSec: n / (leaveMs / 1000),
    cpuPerLeave: leaveCpu / n,
    joiningToAllMs: last,
    joiningToHalfMs: half,
    missing,
    duplicates: joinReports.reduce((total, report) => total + report.duplicates, 0),
    refusals: joined.refusals,
    watchedMissing: n - watched.length,
    leavings: left.leavings
  }
}

/** Runs the scenario `repeats` times on one set of connected sockets; answers the table's notes. */
export async function presenceScenario (setup: PresenceSetup): Promise<{ runs: PresenceRun[], notes: string[] }> {
  const n = setup.members ?? 1000
  const { crowdChildren, server, jwtSecret, log } = setup
  const plans: CrowdMember[][] = crowdChildren.map(() => [])
  for (let i = 0; i < n; i++) {
    plans[i % plans.length]?.push({ url: server.url, token: memberToken(jwtSecret, `user-${i}`), rooms: [], echo: true })
  }
  const members = await Promise.all(crowdChildren.map((child, c) => connect(child, 'presence', plans[c] ?? [])))
  const firstChild = crowdChildren[0] as BenchChild
  const probe = await connect(firstChild, 'presence-probe', [{ url: server.url, token: memberToken(jwtSecret, PROBE_USER), rooms: [], echo: true }])
  log(`  ${n} Echo sockets connected to ${server.url}, plus one extra user`)

  const runs: PresenceRun[] = []
  let disconnects: Record<string, number> = {}
  try {
    for (let i = 0; i < setup.repeats; i++) {
      const run = await once(setup, members, probe, n)
      disconnects = (await countsOf([...members, probe])).disconnects
      if (Object.keys(disconnects).length > 0) {
        // A run whose sockets dropped out measured less than 1,000 members; later runs would too.
        log(`  presence run ${i + 1}/${setup.repeats}: sockets lost their connection (${JSON.stringify(disconnects)}); this run and any further ones are not counted`)
        break
      }
      runs.push(run)
      log(`  presence run ${i + 1}/${setup.repeats}: ${fmt(run.joinsPerSec)} joins/s, ${fmt(run.cpuPerJoin)} µs CPU per join, ` +
        `joining to all ${fmt(run.joiningToAllMs, 1)} ms, ${fmt(run.leavesPerSec)} leaves/s`)
    }
  } finally {
    for (const group of [...members, probe]) {
      await group.child.request('disconnect', { name: group.name })
      await group.child.request('presenceForget', { name: group.name })
    }
  }

  const pick = (key: keyof PresenceRun) => median(runs.map((run) => run[key]))
  const total = (key: keyof PresenceRun) => runs.reduce((sum, run) => sum + run[key], 0)
  const notes = [
    `joins: ${fmt(pick('joinsPerSec'))}/s (all ${fmt(n)} subscribing at once, until each knows every member), CPU ${fmt(pick('cpuPerJoin'))} µs per join`,
    `one more user's presence:joining reached all ${fmt(n)} members in ${fmt(pick('joiningToAllMs'), 1)} ms (half of them in ${fmt(pick('joiningToHalfMs'), 1)} ms), the bridge's one-second announcement hold included`,
    `leaves: ${fmt(pick('leavesPerSec'))}/s (all unsubscribing at once), CPU ${fmt(pick('cpuPerLeave'))} µs per leave; ` +
      `${fmt(pick('leavings'))} presence:leaving delivered (to the members still there when each hold ended)`
  ]
  const problems = [
    total('missing') > 0 ? `${fmt(total('missing'))} members missing from sockets' member lists` : '',
    total('duplicates') > 0 ? `${fmt(total('duplicates'))} joinings announced twice` : '',
    total('refusals') > 0 ? `${fmt(total('refusals'))} subscriptions refused` : '',
    total('watchedMissing') > 0 ? `${fmt(total('watchedMissing'))} members never told of the extra user` : '',
  ].filter((problem) => problem !== '')
  if (runs.length > 0) {
    notes.push(problems.length === 0 ? `over ${runs.length} runs: every member knew every other, none announced twice` : `over ${runs.length} runs: ${problems.join('; ')}`)
  }
  if (Object.keys(disconnects).length > 0) {
    notes.push(`run ${runs.length + 1} not counted: sockets lost their connection (${Object.entries(disconnects).map(([reason, count]) => `${count}× ${reason}`).join(', ')}); ` +
      'a ping timeout is a client that read no ping for 45 s: the crowds or the bridge could not keep up on a machine this busy')
  }
  return { runs, notes: runs.length > 0 ? notes : notes.slice(-1) }
}
