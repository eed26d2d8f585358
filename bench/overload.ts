// The overload and recovery scenarios of `npm run bench`: a burst of 4 KB publishes, a reader
// that stops reading, saturation with and without load shedding, an open-loop overload,
// recovery gap checks (one node and two), a SIGKILLed node and a flood of handshakes. Each
// reports what it measured as text; `--quick` shortens every duration for a smoke test.
import { setTimeout as sleep } from 'node:timers/promises'
import type { BenchChild } from './ipc.ts'
import type { FloodResult, LoadPlan, LoadResult } from './load-generator.ts'
import { countGaps, type GapFigures } from './gaps.ts'
import { measureRun, type Crowd } from './measure.ts'
import type { MemberTrace, ReconnectorMember } from './reconnector.ts'
import type { ServerProcess } from './servers.ts'
import { runSheddingScenarios } from './shedding.ts'
import { fmt, mib, ms, percentiles, statusLine } from './stats.ts'
import { peakRss } from './watch.ts'

export interface Finding {
  id: string
  scenario: string
  command: string
  measured: string[]
}

export interface OverloadContext {
  quick: boolean
  repeats: number
  wanted (id: string): boolean
  log (line: string): void
  loadGenerator: BenchChild
  crowdChildren: BenchChild[]
  reconnector: BenchChild
  apiToken: string
  metricsToken: string
  token (sub: string): string
  /**
   * A bridge process; `shedding: 'defaults'` leaves every load-shedding threshold at its
   * default. `baseline: true` runs the build of `--baseline` instead of this checkout's.
   */
  startBridge (name: string, options: { shedding: 'defaults' | 'off', env?: Record<string, string>, baseline?: boolean }): Promise<ServerProcess>
  /** The bare Fastify route of the throughput table (validates a publish, answers 202). */
  startBare (name: string): Promise<ServerProcess>
  /** The git revision given with `--baseline`, whose bridge the shedding scenarios also run; none by default. */
  baseline?: string
  plan (origin: string, scenario: string, rooms: string[], load: Partial<LoadPlan>): LoadPlan
  connectCrowds (children: BenchChild[], name: string, count: number, urlOf: (i: number) => string, roomsOf: (i: number) => string[]): Promise<Crowd[]>
  disconnectCrowds (crowds: Crowd[]): Promise<void>
  /** Environment of a two-node cluster on its own Redis prefix, and the removal of its keys. */
  clusterEnv (): { env: Record<string, string>, cleanUp (): Promise<void> }
}

const rooms = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}_${i}`)

async function metric (ctx: OverloadContext, server: ServerProcess, name: string): Promise<number | undefined> {
  const response = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${ctx.metricsToken}` } })
  const text = await response.text()
  const line = text.split('\n').find((row) => row.startsWith(`${name} `) || row.startsWith(`${name}{`))
  return line === undefined ? undefined : Number(line.split(' ').at(-1))
}

function gapLine (gaps: GapFigures): string {
  return `${gaps.members} clients: ${gaps.recovered} reconnects recovered, ${gaps.restarted} not; ` +
    `events missed while recovered === true: ${gaps.missedWhileRecovered}; missed across a non-recovered reconnect: ${gaps.missedAcrossRestart}; ` +
    `duplicates or out of order: ${gaps.duplicates}` +
    (gaps.missedExamples.length > 0 ? `; ${gaps.missedExamples.join('; ')}` : '')
}

async function traces (ctx: OverloadContext, name: string): Promise<MemberTrace[]> {
  return await ctx.reconnector.request<MemberTrace[]>('report', { name })
}

export async function runOverloadScenarios (ctx: OverloadContext): Promise<Finding[]> {
  const findings: Finding[] = []
  const seconds = (full: number, quick: number) => (ctx.quick ? quick : full) * 1000
  const command = (id: string) => `npm run bench -- --only=${id}`

  findings.push(...await runSheddingScenarios(ctx))

  if (ctx.wanted('burst')) {
    ctx.log('burst: 4 KB publishes into rooms with and without subscribers, clients dropping and recovering')
    const bridge = await ctx.startBridge('bridge-burst', { shedding: 'defaults' })
    const subscribed = rooms('burst', 20)
    const publishRooms = [...subscribed, ...rooms('nobody', 1000)]
    const members: ReconnectorMember[] = subscribed.map((room, i) => ({ url: bridge.url, token: ctx.token(`burst-${i}`), room }))
    await ctx.reconnector.request('connect', { name: 'burst', plan: members }, 120_000)
    const durationMs = seconds(20, 3)
    const { result: load, peak, before } = await peakRss(bridge, async () => {
      const [answer] = await Promise.all([
        ctx.loadGenerator.request<LoadResult>('run', ctx.plan(bridge.url, 'burst', publishRooms, { connections: 32, durationMs, payloadBytes: 4096, recordAccepted: true }), 600_000),
        ctx.reconnector.request('churn', { name: 'burst', drops: ctx.quick ? 20 : 200, urls: [bridge.url], pauseMs: durationMs / 10 }, 600_000)
      ])
      return answer
    })
    // How long after the burst publishes are refused: until the bridge stops reporting overload.
    const endedAt = performance.now()
    while ((await metric(ctx, bridge, 'bridge_overloaded')) === 1 && performance.now() - endedAt < 600_000) await sleep(100)
    const shedFor = performance.now() - endedAt
    await sleep(2000)
    const gaps = countGaps(await traces(ctx, 'burst'), load.acceptedSeqs ?? [], publishRooms)
    await ctx.reconnector.request('disconnect', { name: 'burst' })
    findings.push({
      id: 'burst',
      scenario: `burst: ${fmt(durationMs / 1000)} s of 4 KB publishes, 20 rooms with a subscriber and 1,000 without`,
      command: command('burst'),
      measured: [
        `${fmt(load.sent)} publishes, ${fmt(load.accepted / (load.elapsedMs / 1000))}/s accepted; ${statusLine(load)}`,
        `RSS ${mib(before)} before, peak ${mib(peak)}`,
        `shedding ended ${ms(shedFor)} after the burst`,
        `recovery: ${gapLine(gaps)}`
      ]
    })
    await bridge.stop()
  }

  if (ctx.wanted('slow-reader')) {
    const crowdSize = ctx.quick ? 200 : 2000
    ctx.log(`slow reader: ${crowdSize} sockets in one room, one reader stops reading`)
    const bridge = await ctx.startBridge('bridge-slow-reader', { shedding: 'off' })
    const crowds = await ctx.connectCrowds(ctx.crowdChildren, 'slow-reader', crowdSize, () => bridge.url, () => ['lobby'])
    await ctx.reconnector.request('stall', { url: bridge.url, token: ctx.token('stalled-reader'), rooms: ['lobby', 'stalled'] })
    const durationMs = seconds(30, 8)
    const startedAt = performance.now()
    let cutAfter: number | undefined
    const watch = (async () => {
      while (performance.now() - startedAt < durationMs + 5000 && cutAfter === undefined) {
        if (((await metric(ctx, bridge, 'bridge_slow_sockets_disconnected_total')) ?? 0) > 0) cutAfter = performance.now() - startedAt
        await sleep(100)
      }
    })()
    const { result: [fanOut, stalledLoad], peak, before } = await peakRss(bridge, () => Promise.all([
      measureRun({ loadGenerator: ctx.loadGenerator, servers: [bridge], crowds, plan: ctx.plan(bridge.url, 'slow-reader', ['lobby'], { connections: 4, rate: 10, count: durationMs / 100, payloadBytes: 4096 }) }),
      // 60 KB publishes to a room only the stalled reader is in: its backlog grows 2.4 MB/s
      // faster, past what the kernel's socket buffers absorb (several MB on loopback).
      ctx.loadGenerator.request<LoadResult>('run', ctx.plan(bridge.url, 'slow-reader-stalled', ['stalled'], { connections: 2, rate: 40, count: durationMs / 25, payloadBytes: 60_000 }), 600_000)
    ]))
    await watch
    findings.push({
      id: 'slow-reader',
      scenario: `slow reader: ${crowdSize} sockets in one room at 10 × 4 KB/s, one reader stops reading (and gets 40 × 60 KB/s more)`,
      command: command('slow-reader'),
      measured: [
        cutAfter === undefined ? `the stalled reader was not cut within ${fmt(durationMs / 1000)} s` : `the stalled reader was cut ${ms(cutAfter)} after it stopped reading`,
        `RSS ${mib(before)} before, peak ${mib(peak)}`,
        `the other sockets: ${fanOut.lost} events lost, ${fanOut.extra} extra, e2e p99 ${ms(fanOut.e2eP99)}`,
        `publishes to the stalled reader's own room: ${statusLine(stalledLoad)}`
      ]
    })
    await ctx.disconnectCrowds(crowds)
    await bridge.stop()
  }

  if (ctx.wanted('recovery-gap')) {
    const drops = ctx.quick ? 100 : 1000
    const durationMs = seconds(20, 4)
    for (const mode of ['single node', 'cluster'] as const) {
      ctx.log(`recovery gap check, ${mode}: ${drops} drops and reconnects under 500 publishes/s`)
      const cluster = mode === 'cluster' ? ctx.clusterEnv() : undefined
      const nodes = cluster === undefined
        ? [await ctx.startBridge('bridge-gap', { shedding: 'off' })]
        : [await ctx.startBridge('gap-a', { shedding: 'off', env: cluster.env }), await ctx.startBridge('gap-b', { shedding: 'off', env: cluster.env })]
      try {
        const urls = nodes.map((node) => node.url)
        const members: ReconnectorMember[] = Array.from({ length: 20 }, (_, i) => ({ url: urls[i % urls.length] as string, token: ctx.token(`gap-${i}`), room: 'gap' }))
        await ctx.reconnector.request('connect', { name: 'gap', plan: members }, 120_000)
        // One connection: publishes reach the bridge in order, so each client's ids must follow on.
        const origin = (nodes[0] as ServerProcess).url
        const [load] = await Promise.all([
          ctx.loadGenerator.request<LoadResult>('run', ctx.plan(origin, 'recovery-gap', ['gap'], { connections: 1, rate: 500, count: 500 * durationMs / 1000, recordAccepted: true }), 600_000),
          sleep(200).then(() => ctx.reconnector.request('churn', { name: 'gap', drops, urls, pauseMs: 2 * (durationMs - 1000) * members.length / drops }, 600_000))
        ])
        await sleep(2000)
        const gaps = countGaps(await traces(ctx, 'gap'), load.acceptedSeqs ?? [], ['gap'])
        await ctx.reconnector.request('disconnect', { name: 'gap' })
        findings.push({
          id: mode === 'cluster' ? 'recovery-gap-cluster' : 'recovery-gap',
          scenario: `recovery gap check, ${mode}: ${drops} drops and reconnects under 500 publishes/s${mode === 'cluster' ? ', every reconnect to the other node' : ''}`,
          command: command('recovery-gap'),
          measured: [gapLine(gaps), statusLine(load)]
        })
      } finally {
        await Promise.all(nodes.map((node) => node.stop()))
        await cluster?.cleanUp()
      }
    }
  }

  if (ctx.wanted('sigkill')) {
    const clients = ctx.quick ? 40 : 200
    ctx.log(`SIGKILL: ${clients} clients on node A, A killed under 500 publishes/s, clients fail over to B`)
    const cluster = ctx.clusterEnv()
    const a = await ctx.startBridge('kill-a', { shedding: 'off', env: cluster.env })
    const b = await ctx.startBridge('kill-b', { shedding: 'off', env: cluster.env })
    try {
      const roomNames = rooms('kill', 20)
      const members: ReconnectorMember[] = Array.from({ length: clients }, (_, i) => ({ url: a.url, token: ctx.token(`kill-${i}`), room: roomNames[i % 20] as string }))
      await ctx.reconnector.request('connect', { name: 'kill', plan: members }, 120_000)
      const durationMs = seconds(12, 4)
      const [load] = await Promise.all([
        ctx.loadGenerator.request<LoadResult>('run', ctx.plan(b.url, 'sigkill', roomNames, { connections: 1, rate: 500, count: 500 * durationMs / 1000, recordAccepted: true }), 600_000),
        (async () => {
          await sleep(durationMs / 3)
          a.child.process.kill('SIGKILL')
          await ctx.reconnector.request('failover', { name: 'kill', url: b.url }, 600_000)
        })()
      ])
      await sleep(2000)
      const gaps = countGaps(await traces(ctx, 'kill'), load.acceptedSeqs ?? [], roomNames)
      await ctx.reconnector.request('disconnect', { name: 'kill' })
      findings.push({
        id: 'sigkill',
        scenario: `SIGKILLed node: ${clients} clients on node A fail over to node B under 500 publishes/s`,
        command: command('sigkill'),
        measured: [
          `${gaps.recovered} of ${clients} recovered their session on B`,
          `events missed in all: ${gaps.missedWhileRecovered + gaps.missedAcrossRestart}; ${gapLine(gaps)}`,
          statusLine(load)
        ]
      })
    } finally {
      await Promise.all([a.stop(), b.stop()])
      await cluster.cleanUp()
    }
  }

  if (ctx.wanted('handshake-flood')) {
    ctx.log('handshake flood: 32 clients opening unauthenticated polling handshakes')
    const bridge = await ctx.startBridge('bridge-flood', { shedding: 'defaults' })
    const durationMs = seconds(20, 3)
    let pendingMax: number | undefined
    const health: number[] = []
    const probing = { running: true }
    const probe = (async () => {
      while (probing.running) {
        const sentAt = performance.now()
        const ok = (await fetch(`${bridge.url}/health`).catch(() => undefined))?.ok === true
        if (ok) health.push(performance.now() - sentAt)
        const pending = await metric(ctx, bridge, 'bridge_socket_pending_connections').catch(() => undefined)
        if (pending !== undefined) pendingMax = Math.max(pendingMax ?? 0, pending)
        await sleep(100)
      }
    })()
    const { result: flood, peak, before } = await peakRss(bridge, () =>
      ctx.loadGenerator.request<FloodResult>('flood', { origin: bridge.url, clients: 32, durationMs }, 600_000))
    probing.running = false
    await probe
    const [p50, p99] = percentiles([Float64Array.from(health)], [50, 99]) as [number, number]
    findings.push({
      id: 'handshake-flood',
      scenario: `handshake flood: 32 clients opening unauthenticated polling handshakes for ${fmt(durationMs / 1000)} s`,
      command: command('handshake-flood'),
      measured: [
        `${fmt(flood.handshakes)} handshakes (${Object.entries(flood.statuses).map(([status, n]) => `${n}× ${status}`).join(', ')}), ${flood.errors} failed`,
        `pending sessions at most: ${pendingMax === undefined ? 'n/a (no bridge_socket_pending_connections gauge)' : fmt(pendingMax)}`,
        `RSS ${mib(before)} before, peak ${mib(peak)}`,
        `/health p50/p99 ${ms(p50)} / ${ms(p99)} (${health.length} probes)`
      ]
    })
    await bridge.stop()
  }

  return findings
}
