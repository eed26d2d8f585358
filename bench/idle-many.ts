// The `idle-100k` scenario: as many idle subscribed socket.io sockets on one bridge node as the
// machine allows, up to 100,000, from several client processes and loopback source addresses
// (127.0.0.2, …), so that neither one process's open files nor one address's ephemeral ports
// run out. Measured: the time to connect them all, the bridge's RSS and heap+external per
// socket, and `/health` latency from sequential GETs while they are held.
import { setTimeout as sleep } from 'node:timers/promises'
import { Client } from 'undici'
import type { CrowdMember } from './crowd.ts'
import { BenchChild } from './ipc.ts'
import type { ServerProcess } from './servers.ts'
import { fmt, mib, percentiles } from './stats.ts'

export interface IdleManySetup {
  startBridge: (name: string, extra?: Record<string, string>) => Promise<ServerProcess>
  /** A crowd process of its own (each holds at most its open-file limit of sockets). */
  startCrowd: (name: string) => BenchChild
  token: (sub: string) => string
  /** The open-file limit the bridge inherits: each socket is one file in it. */
  openFiles: number
  quick: boolean
  log: (line: string) => void
}

const WANTED = 100_000
/** Files the bridge needs besides its sockets (its modules, stdio, the event loop, /health). */
const RESERVED_FILES = 200
/** Sockets per loopback source address: the ephemeral port range holds about 28,000. */
const PER_ADDRESS = 20_000
/** Sockets per client process, under the same open-file limit as the bridge. */
const PER_CROWD = 15_000

/** `count` sequential GETs of `/health` over one keep-alive connection; latencies in ms. */
async function healthLatencies (url: string, count: number): Promise<Float64Array> {
  const client = new Client(url, { pipelining: 1 })
  const latencies = new Float64Array(count)
  try {
    for (let i = 0; i < count; i++) {
      const started = performance.now()
      const response = await client.request({ path: '/health', method: 'GET' })
      await response.body.dump()
      if (response.statusCode !== 200) throw new Error(`/health answered ${response.statusCode}`)
      latencies[i] = performance.now() - started
    }
  } finally {
    await client.close()
  }
  return latencies
}

export async function idleManyScenario (setup: IdleManySetup): Promise<string[]> {
  const { log, quick } = setup
  const target = Math.min(quick ? 2000 : WANTED, setup.openFiles - RESERVED_FILES)
  const limitedBy = target < (quick ? 2000 : WANTED) ? `the open-file limit (${setup.openFiles}; npm run bench raises it to the hard limit, ulimit -Hn)` : undefined
  if (target < 1000) {
    log(`idle-100k: skipped, the open-file limit is ${setup.openFiles} (raise it with ulimit -n)`)
    return [`not measured: open-file limit ${setup.openFiles}`]
  }
  log(`idle-100k: ${fmt(target)} idle subscribed sockets on one node` + (limitedBy === undefined ? '' : `, not ${fmt(WANTED)}: capped by ${limitedBy}`))
  const crowds = Array.from({ length: Math.ceil(target / PER_CROWD) }, (_, i) => setup.startCrowd(`crowd-idle-${i + 1}`))
  const addresses = Math.max(2, Math.ceil(target / PER_ADDRESS))
  // The defaults: 50 handshakes at a time per client process stay under BRIDGE_MAX_PENDING_CONNECTIONS.
  const bridge = await setup.startBridge('bridge-idle-many')
  try {
    await sleep(1000)
    const before = await bridge.usage(true)
    const plans: CrowdMember[][] = crowds.map(() => [])
    for (let i = 0; i < target; i++) {
      plans[i % crowds.length]?.push({
        url: bridge.url,
        token: setup.token(`idle-${i}`),
        rooms: [`idle_${Math.floor(i / 2)}`],
        localAddress: `127.0.0.${2 + (i % addresses)}`
      })
    }
    const started = performance.now()
    await Promise.all(crowds.map((crowd, c) => crowd.request('connect', { name: 'idle-many', plan: plans[c], concurrency: 50 }, 1_800_000)))
    const connectSeconds = (performance.now() - started) / 1000
    log(`  ${fmt(target)} sockets connected and subscribed in ${fmt(connectSeconds, 1)} s from ${crowds.length} processes and ${addresses} source addresses`)
    await sleep(quick ? 2000 : 10_000)
    const held = await bridge.usage(true)
    const health = await healthLatencies(bridge.url, quick ? 200 : 2000)
    const [p50, p99, max] = percentiles([health], [50, 99, 100]) as [number, number, number]
    const perSocketKb = (after: number, earlier: number) => fmt((after - earlier) / target / 1024, 1)
    const notes = [
      `${fmt(target)} sockets held` + (limitedBy === undefined ? '' : ` (not ${fmt(WANTED)}: ${limitedBy})`),
      `connected and subscribed in ${fmt(connectSeconds, 1)} s (${fmt(target / connectSeconds)} a second)`,
      `bridge RSS ${mib(held.rss)} (${mib(before.rss)} before; ${perSocketKb(held.rss, before.rss)} KB per socket)`,
      `heap+external ${mib(held.heapUsed + held.external)} (${perSocketKb(held.heapUsed + held.external, before.heapUsed + before.external)} KB per socket); ` +
        `V8 heap reserved ${mib(held.heapTotal)} for ${mib(held.heapUsed)} used (${mib(before.heapTotal)} for ${mib(before.heapUsed)} before)`,
      `/health while held: p50 ${fmt(p50, 2)} ms, p99 ${fmt(p99, 2)} ms, max ${fmt(max, 1)} ms over ${health.length} sequential GETs`
    ]
    // Sockets cost about the same each, so the per-socket figure tells what the full count needs.
    if (limitedBy !== undefined && !quick) notes.push(`at that cost ${fmt(WANTED)} sockets would take an RSS of about ${mib(before.rss + (held.rss - before.rss) / target * WANTED)}`)
    for (const note of notes) log(`  ${note}`)
    await Promise.all(crowds.map((crowd) => crowd.request('disconnect', { name: 'idle-many' }, 300_000)))
    return notes
  } finally {
    await bridge.stop()
    await Promise.all(crowds.map((crowd) => crowd.stop()))
  }
}
