// The `idle-100k` scenario: as many idle subscribed socket.io sockets on one bridge node as the
// machine allows, up to 100,000, from several client processes and loopback source addresses
// (127.0.0.2, …), so that neither one process's open files nor one address's ephemeral ports
// run out. Measured: the time to connect them all, the bridge's RSS and heap+external per
// socket, and `/health` latency from sequential GETs while they are held.
import { setTimeout as sleep } from 'node:timers/promises'
import { Client } from 'undici'
import type { CrowdMember } from './crowd.ts'
import { BenchChild } from './ipc.ts'
import type { Usage } from './probe.ts'
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

/** How the bridge is run: Node's defaults, and the young generation operations.md advises for such a node. */
const CONFIGURATIONS: Array<{ label: string, env: Record<string, string> }> = [
  { label: 'Node\'s defaults', env: {} },
  { label: 'NODE_OPTIONS=--max-semi-space-size=4', env: { NODE_OPTIONS: '--max-semi-space-size=4' } }
]

export async function idleManyScenario (setup: IdleManySetup): Promise<string[]> {
  const { log, quick } = setup
  const target = Math.min(quick ? 2000 : WANTED, setup.openFiles - RESERVED_FILES)
  const limitedBy = target < (quick ? 2000 : WANTED) ? `the open-file limit (${setup.openFiles}; npm run bench raises it to the hard limit, ulimit -Hn)` : undefined
  if (target < 1000) {
    log(`idle-100k: skipped, the open-file limit is ${setup.openFiles} (raise it with ulimit -n)`)
    return [`not measured: open-file limit ${setup.openFiles}`]
  }
  log(`idle-100k: ${fmt(target)} idle subscribed sockets on one node` + (limitedBy === undefined ? '' : `, not ${fmt(WANTED)}: capped by ${limitedBy}`))
  const notes: string[] = []
  for (const configuration of quick ? CONFIGURATIONS.slice(0, 1) : CONFIGURATIONS) {
    notes.push(...await heldOnce(setup, target, limitedBy, configuration))
  }
  return notes
}

/**
 * One fresh bridge holding `target` sockets, connected in two halves: memory is read before, at
 * half and when all are held (after garbage collection). Per socket: the growth from before to
 * held, and the growth over the second half alone (what one more socket costs once the fixed
 * costs of the first connections, such as V8's young generation reaching its size, are paid).
 */
async function heldOnce (setup: IdleManySetup, target: number, limitedBy: string | undefined, { label, env }: typeof CONFIGURATIONS[number]): Promise<string[]> {
  const { log, quick } = setup
  const crowds = Array.from({ length: Math.ceil(target / PER_CROWD) }, (_, i) => setup.startCrowd(`crowd-idle-${i + 1}`))
  const addresses = Math.max(2, Math.ceil(target / PER_ADDRESS))
  // The defaults: 50 handshakes at a time per client process stay under BRIDGE_MAX_PENDING_CONNECTIONS.
  const bridge = await setup.startBridge('bridge-idle-many', env)
  try {
    await sleep(1000)
    const before = await bridge.usage(true)
    const half = Math.floor(target / 2)
    const halves: CrowdMember[][][] = [crowds.map(() => []), crowds.map(() => [])]
    for (let i = 0; i < target; i++) {
      halves[i < half ? 0 : 1]?.[i % crowds.length]?.push({
        url: bridge.url,
        token: setup.token(`idle-${i}`),
        rooms: [`idle_${Math.floor(i / 2)}`],
        localAddress: `127.0.0.${2 + (i % addresses)}`
      })
    }
    let connectSeconds = 0
    const usages = []
    for (const [h, plans] of halves.entries()) {
      const started = performance.now()
      await Promise.all(crowds.map((crowd, c) => crowd.request('connect', { name: `idle-many-${h}`, plan: plans[c], concurrency: 50 }, 1_800_000)))
      connectSeconds += (performance.now() - started) / 1000
      await sleep(quick ? 2000 : 10_000)
      usages.push(await bridge.usage(true))
    }
    const [middle, held] = usages as [Usage, Usage]
    log(`  ${label}: ${fmt(target)} sockets connected and subscribed in ${fmt(connectSeconds, 1)} s from ${crowds.length} processes and ${addresses} source addresses`)
    const health = await healthLatencies(bridge.url, quick ? 200 : 2000)
    const [p50, p99, max] = percentiles([health], [50, 99, 100]) as [number, number, number]
    const kb = (bytes: number, sockets: number) => fmt(bytes / sockets / 1024, 1)
    const heapAndExternal = (usage: Usage) => usage.heapUsed + usage.external
    const secondHalf = target - half
    const notes = [
      `${label}: ${fmt(target)} sockets held` + (limitedBy === undefined ? '' : ` (not ${fmt(WANTED)}: ${limitedBy})`),
      `connected and subscribed in ${fmt(connectSeconds, 1)} s (${fmt(target / connectSeconds)} a second)`,
      `bridge RSS ${mib(held.rss)} (${mib(before.rss)} before, ${mib(middle.rss)} at ${fmt(half)}); per socket ${kb(held.rss - before.rss, target)} KB from before, ${kb(held.rss - middle.rss, secondHalf)} KB over the second half`,
      `heap+external ${mib(heapAndExternal(held))}; per socket ${kb(heapAndExternal(held) - heapAndExternal(before), target)} KB from before, ${kb(heapAndExternal(held) - heapAndExternal(middle), secondHalf)} KB over the second half; ` +
        `V8 heap reserved ${mib(held.heapTotal)} for ${mib(held.heapUsed)} used (${mib(before.heapTotal)} for ${mib(before.heapUsed)} before)`,
      `/health while held: p50 ${fmt(p50, 2)} ms, p99 ${fmt(p99, 2)} ms, max ${fmt(max, 1)} ms over ${health.length} sequential GETs`
    ]
    if (limitedBy !== undefined && !quick) {
      const perSocket = (held.rss - middle.rss) / secondHalf
      notes.push(`${fmt(WANTED)} sockets would take an RSS of about ${mib(held.rss + perSocket * (WANTED - target))} at the second half's cost per socket ` +
        `(${mib(before.rss + (held.rss - before.rss) / target * WANTED)} at the cost from before)`)
    }
    for (const note of notes) log(`  ${note}`)
    await Promise.all(crowds.flatMap((crowd) => [0, 1].map((h) => crowd.request('disconnect', { name: `idle-many-${h}` }, 300_000))))
    return notes
  } finally {
    await bridge.stop()
    await Promise.all(crowds.map((crowd) => crowd.stop()))
  }
}
