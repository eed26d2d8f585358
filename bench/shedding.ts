// The load-shedding scenarios of `npm run bench`. `saturation`: closed-loop publishers keep a
// bridge at its full capacity, with shedding at its defaults and with shedding off, in turn.
// `overload`: an open loop at twice that capacity over 512 open keep-alive connections, while
// `/health` is probed over a new connection every 100 ms. With `--baseline=<revision>` both run
// against that revision's bridge too, taking turns with this one's, so both meet the same machine.
import type { LoadPlan, LoadResult } from './load-generator.ts'
import { measureLoad, measureRun } from './measure.ts'
import type { Finding, OverloadContext } from './overload.ts'
import type { ServerProcess } from './servers.ts'
import { fmt, median, mib, ms, percentiles, statusLine } from './stats.ts'
import { healthWhile, peakRss, type HealthProbe } from './watch.ts'

/** How often `/health` is probed during the overload. */
const PROBE_EVERY_MS = 100
/** Publishers' keep-alive connections in the overload. */
const CONNECTIONS = 512

interface Bridges {
  label: string
  baseline: boolean
  defaults: ServerProcess
  off: ServerProcess
  /** Closed-loop goodput with shedding off, one per saturation run. */
  capacities: number[]
}

/** Overload runs of one build, pooled. */
interface OverloadRuns {
  loads: LoadResult[]
  /** Probes sent once the first publish was due, and those sent while the connections were being opened. */
  probes: HealthProbe[]
  opening: HealthProbe[]
  rssBefore: number
  rssPeak: number
}

const rooms = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}_${i}`)

/** `/health` latencies, a probe that got no 200 counting as the longest. */
function healthLine (probes: HealthProbe[]): string {
  if (probes.length === 0) return 'no probes'
  const latencies = Float64Array.from(probes, (probe) => Number.isNaN(probe.latency) ? Infinity : probe.latency)
  const [p50, p99, max] = percentiles([latencies], [50, 99, 100]) as [number, number, number]
  const shown = (value: number) => Number.isFinite(value) ? ms(value) : 'none (no 200 within 10 s)'
  const failed = probes.filter((probe) => Number.isNaN(probe.latency)).length
  return `p50/p99/max ${shown(p50)} / ${shown(p99)} / ${shown(max)} over ${probes.length} probes${failed > 0 ? `, ${failed} without a 200 within 10 s` : ''}`
}

export async function runSheddingScenarios (ctx: OverloadContext): Promise<Finding[]> {
  const findings: Finding[] = []
  if (!ctx.wanted('saturation') && !ctx.wanted('overload')) return findings
  const seconds = (full: number, quick: number) => (ctx.quick ? quick : full) * 1000
  const command = (id: string) => `npm run bench -- --only=${id}${ctx.baseline === undefined ? '' : ` --baseline=${ctx.baseline}`}`
  const empty = rooms('empty', 1000)
  const warmUp = (server: ServerProcess) => measureRun({ loadGenerator: ctx.loadGenerator, servers: [server], crowds: [], plan: ctx.plan(server.url, 'warm-up', empty, { connections: 50, durationMs: seconds(2, 1) }) })

  const builds: Bridges[] = []
  for (const baseline of ctx.baseline === undefined ? [false] : [false, true]) {
    const suffix = baseline ? '-baseline' : ''
    builds.push({
      label: baseline ? `, baseline ${ctx.baseline}` : '',
      baseline,
      defaults: await ctx.startBridge(`bridge-shedding-defaults${suffix}`, { shedding: 'defaults', baseline }),
      off: await ctx.startBridge(`bridge-shedding-off${suffix}`, { shedding: 'off', baseline }),
      capacities: []
    })
  }
  try {
    for (const build of builds) {
      await warmUp(build.defaults)
      await warmUp(build.off)
    }

    // Closed loop: 50 publishers, each sending its next publish when the last is answered.
    const closedLoop = { connections: 50, durationMs: seconds(5, 1.5) }
    if (ctx.wanted('saturation')) {
      ctx.log('saturation: 50 closed-loop publishers, default load shedding vs shedding off, in turn')
      const runs = builds.map(() => ({ defaults: [] as number[], ratios: [] as number[], shed: 0 }))
      for (let i = 0; i < ctx.repeats; i++) {
        for (const [b, build] of builds.entries()) {
          const run = runs[b] as (typeof runs)[number]
          const withDefaults = await measureLoad({ loadGenerator: ctx.loadGenerator, servers: [build.defaults], crowds: [], plan: ctx.plan(build.defaults.url, 'saturation-defaults', empty, closedLoop) })
          const withoutShedding = await measureRun({ loadGenerator: ctx.loadGenerator, servers: [build.off], crowds: [], plan: ctx.plan(build.off.url, 'saturation-off', empty, closedLoop) })
          run.defaults.push(withDefaults.figures.publishesPerSec)
          build.capacities.push(withoutShedding.publishesPerSec)
          run.ratios.push(withDefaults.figures.publishesPerSec / withoutShedding.publishesPerSec)
          run.shed += withDefaults.load.statuses['503'] ?? 0
          ctx.log(`  run ${i + 1}/${ctx.repeats}${build.label}: defaults ${fmt(run.defaults.at(-1))}/s, shedding off ${fmt(build.capacities.at(-1))}/s`)
        }
      }
      for (const [b, build] of builds.entries()) {
        const run = runs[b] as (typeof runs)[number]
        findings.push({
          id: 'saturation',
          scenario: `saturation: 50 closed-loop publishers, defaults vs shedding off${build.label}`,
          command: command('saturation'),
          measured: [
            `goodput with defaults ${fmt(median(run.defaults))}/s, shedding off ${fmt(median(build.capacities))}/s`,
            `goodput ratio ${fmt(median(run.ratios), 2)} (median of ${ctx.repeats}; target ≥ 0.95)`,
            `503s with defaults: ${run.shed} over all runs`
          ]
        })
      }
    }

    if (ctx.wanted('overload')) {
      const current = builds[0] as Bridges
      if (current.capacities.length === 0) {
        current.capacities.push((await measureRun({ loadGenerator: ctx.loadGenerator, servers: [current.off], crowds: [], plan: ctx.plan(current.off.url, 'capacity', empty, closedLoop) })).publishesPerSec)
      }
      // This build's capacity sets the rate every build is offered.
      const capacity = median(current.capacities)
      const durationMs = seconds(10, 2)
      // The connections are open before the first publish is due: a fleet of publishers keeps
      // its connections, and hundreds opened at once are a connection storm, not this test
      // (the prober notes what /health did meanwhile).
      const openLoop = (rate: number): Partial<LoadPlan> => ({ connections: CONNECTIONS, rate, count: Math.round(rate * durationMs / 1000), openConnectionsFirst: true })
      const twice = Math.max(100, Math.round(2 * capacity))

      // The load generator shares the machine's cores: what it can offer is what it sends a
      // bare route that only validates and answers, at the same rate over as many connections.
      ctx.log(`overload: the load generator offers ${fmt(twice)}/s to the bare route`)
      const bare = await ctx.startBare('bare-overload')
      let generated: number
      let bareProbes: HealthProbe[]
      try {
        await warmUp(bare)
        const { result, probes } = await healthWhile(bare.url, PROBE_EVERY_MS, () =>
          ctx.loadGenerator.request<LoadResult>('run', ctx.plan(bare.url, 'overload-bare', empty, openLoop(twice)), 600_000))
        generated = result.sent / (result.elapsedMs / 1000)
        bareProbes = probes.filter((probe) => probe.sentAt >= result.startedAt)
      } finally {
        await bare.stop()
      }
      const rate = generated >= 0.95 * twice ? twice : Math.floor(generated / 100) * 100

      const runs: OverloadRuns[] = builds.map(() => ({ loads: [], probes: [], opening: [], rssBefore: 0, rssPeak: 0 }))
      for (let i = 0; i < ctx.repeats; i++) {
        for (const [b, build] of builds.entries()) {
          const run = runs[b] as OverloadRuns
          ctx.log(`overload${build.label}: open loop at ${fmt(rate)}/s over ${CONNECTIONS} connections, run ${i + 1}/${ctx.repeats}`)
          const { result: { result: load, peak, before }, probes } = await healthWhile(build.defaults.url, PROBE_EVERY_MS, () => peakRss(build.defaults, () =>
            ctx.loadGenerator.request<LoadResult>('run', ctx.plan(build.defaults.url, 'overload', empty, openLoop(rate)), 600_000)))
          const underLoad = probes.filter((probe) => probe.sentAt >= load.startedAt)
          run.loads.push(load)
          run.probes.push(...underLoad)
          run.opening.push(...probes.filter((probe) => probe.sentAt < load.startedAt))
          if (i === 0) run.rssBefore = before
          run.rssPeak = Math.max(run.rssPeak, peak)
          ctx.log(`  /health ${healthLine(underLoad)}`)
        }
      }

      for (const [b, build] of builds.entries()) {
        const { loads, probes, opening, rssBefore, rssPeak } = runs[b] as OverloadRuns
        const all: LoadResult = {
          ...loads[0] as LoadResult,
          statuses: {},
          errors: loads.reduce((sum, load) => sum + load.errors, 0),
          missingRetryAfter: loads.reduce((sum, load) => sum + load.missingRetryAfter, 0)
        }
        for (const load of loads) {
          for (const [status, n] of Object.entries(load.statuses)) all.statuses[status] = (all.statuses[status] ?? 0) + n
        }
        const sent = loads.reduce((sum, load) => sum + load.sent, 0)
        const [p50, p99] = percentiles(loads.map((load) => load.latencies), [50, 99]) as [number, number]
        const [shedP50, shedP99] = percentiles(loads.map((load) => load.shedLatencies), [50, 99]) as [number, number]
        const openingMax = opening.length === 0 ? undefined : Math.max(...opening.map((probe) => Number.isNaN(probe.latency) ? Infinity : probe.latency))
        findings.push({
          id: 'overload',
          scenario: `overload: open loop at ${rate === twice ? '2' : fmt(rate / capacity, 1)}× capacity over ${CONNECTIONS} connections, default load shedding${build.label}`,
          command: command('overload'),
          measured: [
            `capacity (closed loop, shedding off) ${fmt(capacity)}/s; offered ${fmt(rate)}/s for ${fmt(durationMs / 1000)} s, ${loads.length} runs` +
              (rate === twice ? '' : ` (not 2×: the load generator sent a bare route ${fmt(generated)}/s of the ${fmt(twice)}/s asked)`),
            `/health under the load, a new connection every ${PROBE_EVERY_MS} ms: ${healthLine(probes)} (target p99 < 1 s); ` +
              `the bare route at the same rate: ${healthLine(bareProbes)}` +
              (openingMax === undefined ? '' : `; while the ${CONNECTIONS} connections opened, before the load: max ${Number.isFinite(openingMax) ? ms(openingMax) : 'no 200 within 10 s'}`),
            `accepted ${fmt(median(loads.map((load) => load.accepted / (load.elapsedMs / 1000))))}/s, p50/p99 ${ms(p50)} / ${ms(p99)} from the publish falling due`,
            `503 share ${fmt(100 * (all.statuses['503'] ?? 0) / sent, 1)}%, answered in p50/p99 ${ms(shedP50)} / ${ms(shedP99)}, ${all.missingRetryAfter} without Retry-After`,
            `RSS ${mib(rssBefore)} before, peak ${mib(rssPeak)}`,
            statusLine(all)
          ]
        })
      }
    }
  } finally {
    await Promise.all(builds.flatMap((build) => [build.defaults.stop(), build.off.stop()]))
  }
  return findings
}
