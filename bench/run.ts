// `npm run bench`: starts the bridge, the bare ceiling, a load generator and crowds of
// socket.io clients as separate processes on 127.0.0.1, runs each scenario a fixed number
// of times and prints one table of medians. Every process is killed when it ends.
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { createClient } from 'redis'
import type { CrowdMember } from './crowd.ts'
import { largeRoomEcho, pusherPath, type EchoScenarioContext } from './echo-scenarios.ts'
import { BenchChild, killAll, root } from './ipc.ts'
import type { LoadPlan } from './load-generator.ts'
import { describeMachine, machineLine } from './machine.ts'
import { measureRun, summarize, type Crowd, type RunFigures } from './measure.ts'
import { runOverloadScenarios, type Finding } from './overload.ts'
import { presenceScenario } from './presence.ts'
import { presenceChurnScenario } from './presence-churn.ts'
import { pusherProtocol } from './pusher-protocol.ts'
import { webhooksScenario } from './webhooks.ts'
import { isScaleScenario, scaleScenarios } from './scale.ts'
import { startServer, type ServerProcess } from './servers.ts'
import { fmt, markdownTable, median } from './stats.ts'
import { newCredentials, socketToken } from './tokens.ts'

const { values: args } = parseArgs({
  options: {
    only: { type: 'string' },
    repeats: { type: 'string', default: '3' },
    'log-level': { type: 'string', default: 'info' },
    profile: { type: 'boolean', default: false },
    /** Short durations and one run each: a smoke test that every scenario works, not figures. */
    quick: { type: 'boolean', default: false },
    /** Another checkout whose src/server.ts is the bridge (e.g. an earlier commit, with its own node_modules): before/after on one machine. */
    'bridge-root': { type: 'string' },
    /** A git revision whose bridge the saturation and overload scenarios run too, in turn with this one. */
    baseline: { type: 'string' },
    'redis-url': { type: 'string', default: 'redis://127.0.0.1:6379/13' }
  }
})

const quick = args.quick === true
const repeats = quick ? 1 : Math.max(1, Number(args.repeats))
const only = args.only?.split(',')
const wanted = (id: string) => only === undefined || only.some((name) => id.startsWith(name))
const workDir = mkdtempSync(join(tmpdir(), 'bridge-bench-'))
const credentials = newCredentials()
const runId = Date.now().toString(36)

interface Row {
  id: string
  scenario: string
  figures?: RunFigures
  kbPerIdleSocket?: { rss: number, heap: number }
  ratioToBare?: number
  notes: string[]
}
const rows: Row[] = []
const findings: Finding[] = []
/** Scenarios of this file (the overload and recovery ones are in overload.ts). */
const CLASSIC = ['ceiling', 'no-listeners', 'small-rooms', 'large-room', 'steady', 'idle', 'large-room-echo', 'pusher', 'presence', 'presence-churn', 'pusher-protocol']
/** `/metrics` asks for it (BRIDGE_METRICS_TOKEN, at least 32 bytes in production). */
const metricsToken = randomBytes(32).toString('hex')
/** The ceiling's figures, once measured: throughput ratios are taken against them. */
let bareFigures: RunFigures | undefined
/** `cluster…` names the two-node scenarios below, except `cluster-topology` (bench/scale.ts). */
const isClusterClassic = (name: string) => name.startsWith('cluster') && !name.startsWith('cluster-t')
const ratio = (figures: RunFigures) => bareFigures === undefined ? undefined : figures.publishesPerSec / bareFigures.publishesPerSec

function log (line: string): void {
  process.stderr.write(`[bench] ${line}\n`)
}

const bridgeEnv = (extra: Record<string, string> = {}): Record<string, string> => ({
  NODE_ENV: 'production',
  LOG_LEVEL: args['log-level'],
  BRIDGE_API_TOKEN: credentials.apiToken,
  BRIDGE_JWT_SECRET: credentials.jwtSecret,
  CORS_ORIGINS: 'http://127.0.0.1',
  // Closed-loop runs keep the event loop busy on purpose: load shedding's event-loop
  // thresholds would answer 503 there, which is their job but not what is measured.
  BRIDGE_MAX_EVENT_LOOP_DELAY: '0',
  BRIDGE_MAX_EVENT_LOOP_UTILIZATION: '0',
  BRIDGE_METRICS_TOKEN: metricsToken,
  ...extra
})

function startBridge (name: string, extra: Record<string, string> = {}, sources?: string): Promise<ServerProcess> {
  const bridgeRoot = sources ?? args['bridge-root']
  return startServer({ name, kind: 'bridge', env: bridgeEnv(extra), logFile: join(workDir, `${name}.log`), cwd: workDir, ...(bridgeRoot !== undefined && { root: bridgeRoot }) })
}

/** The sources of `revision`, next to the logs, run with this checkout's node_modules. */
function checkOut (revision: string): string {
  const dir = join(workDir, 'baseline')
  mkdirSync(dir)
  execFileSync('sh', ['-c', 'git -C "$1" archive "$2" | tar -x -C "$3"', 'sh', root, revision, dir], { stdio: ['ignore', 'ignore', 'inherit'] })
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'))
  return dir
}

function startYardstick (kind: 'socket.io' | 'ws'): Promise<ServerProcess> {
  return startServer({ name: `yardstick-${kind}`, kind, env: {}, logFile: join(workDir, `yardstick-${kind}.log`), cwd: workDir })
}

function startChild (name: string, file: string): BenchChild {
  return new BenchChild(name, join(root, 'bench', file), { cwd: workDir, logFile: join(workDir, `${name}.log`) })
}

/** Members `0..count-1`, spread over the crowd processes in turn. */
async function connectCrowds (
  crowdChildren: BenchChild[],
  name: string,
  count: number,
  urlOf: (i: number) => string,
  roomsOf: (i: number) => string[]
): Promise<Crowd[]> {
  const crowds: Crowd[] = crowdChildren.map((child) => ({ child, name, plan: [] }))
  for (let i = 0; i < count; i++) {
    const member = { url: urlOf(i), token: socketToken(credentials.jwtSecret, `user-${i}`, ['*']), rooms: roomsOf(i) }
    crowds[i % crowds.length]?.plan.push(member satisfies CrowdMember)
  }
  const started = performance.now()
  await Promise.all(crowds.map((crowd) => crowd.child.request('connect', { name, plan: crowd.plan, concurrency: 50 }, 300_000)))
  log(`  ${count} sockets connected to ${name} and subscribed in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  return crowds
}

/** This process's open-file limit (children inherit it): each idle socket is a file on both ends. */
function openFileLimit (): number {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((row) => row.startsWith('Max open files'))
    const soft = line?.split(/\s{2,}/)[1]
    return soft === undefined || soft === 'unlimited' ? Number.POSITIVE_INFINITY : Number(soft)
  } catch {
    return Number.POSITIVE_INFINITY
  }
}

/** Server memory (after garbage collection) per socket, with 10,000 sockets connected and subscribed. */
async function idleMemory (crowdChildren: BenchChild[], server: ServerProcess, name: string): Promise<{ rss: number, heap: number }> {
  await sleep(1000)
  const before = await server.usage(true)
  const crowds = await connectCrowds(crowdChildren, name, 10_000, () => server.url, (i) => [`chat_${Math.floor(i / 2)}`])
  await sleep(2000)
  const after = await server.usage(true)
  if (args.profile) log(`  heap snapshot: ${await server.heapSnapshot(join(workDir, `${name}.heapsnapshot`))}`)
  const mib = (bytes: number) => fmt(bytes / 2 ** 20)
  log(`  RSS ${mib(before.rss)} → ${mib(after.rss)} MiB, heap+external ${mib(before.heapUsed + before.external)} → ${mib(after.heapUsed + after.external)} MiB`)
  await disconnectCrowds(crowds)
  const kb = (bytes: number) => bytes / 10_000 / 1024
  return { rss: kb(after.rss - before.rss), heap: kb(after.heapUsed + after.external - before.heapUsed - before.external) }
}

async function disconnectCrowds (crowds: Crowd[]): Promise<void> {
  await Promise.all(crowds.map((crowd) => crowd.child.request('disconnect', { name: crowd.name })))
  // Let the servers see the closes before the next scenario measures anything.
  await sleep(500)
}

const rooms = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}_${i}`)

function plan (origin: string, scenario: string, roomNames: string[], load: Partial<LoadPlan>): LoadPlan {
  return {
    origin,
    apiToken: credentials.apiToken,
    rooms: roomNames,
    uuidPrefix: `${runId}-${scenario}-${Math.random().toString(36).slice(2, 8)}`,
    connections: 32,
    ...load
  }
}

/** Closed-loop load: as many publishes as the server answers, 32 in flight, for 4 s. */
const saturate = { connections: 32, durationMs: quick ? 1500 : 4000 }

async function main (): Promise<void> {
  const machine = describeMachine()
  log(machineLine(machine))
  log(`logs and profiles in ${workDir}`)

  const loadGenerator = startChild('load-generator', 'load-generator.ts')
  const crowdChildren = [startChild('crowd-1', 'crowd.ts'), startChild('crowd-2', 'crowd.ts')]

  const reconnector = startChild('reconnector', 'reconnector.ts')
  const baseline = args.baseline === undefined ? undefined : checkOut(args.baseline)
  if (baseline !== undefined) log(`baseline: ${args.baseline} in ${baseline}`)
  findings.push(...await runOverloadScenarios({
    quick,
    repeats,
    wanted,
    log,
    loadGenerator,
    crowdChildren,
    reconnector,
    apiToken: credentials.apiToken,
    metricsToken,
    token: (sub) => socketToken(credentials.jwtSecret, sub, ['*']),
    startBridge: (name, options) => startBridge(name, {
      ...(options.shedding === 'defaults'
        ? { BRIDGE_MAX_EVENT_LOOP_DELAY: '', BRIDGE_MAX_EVENT_LOOP_UTILIZATION: '' }
        : { BRIDGE_MAX_HEAP_USED_BYTES: '0', BRIDGE_MAX_RSS_BYTES: '0' }),
      ...options.env
    }, options.baseline === true ? baseline : undefined),
    ...(args.baseline !== undefined && { baseline: args.baseline }),
    startBare: (name) => startServer({ name, kind: 'bare', env: bridgeEnv(), logFile: join(workDir, `${name}.log`), cwd: workDir }),
    plan,
    connectCrowds,
    disconnectCrowds,
    clusterEnv: () => {
      const prefix = `bench-${runId}-${Math.random().toString(36).slice(2, 8)}:`
      return {
        env: { REDIS_URL: args['redis-url'] as string, BRIDGE_REDIS_PREFIX: prefix },
        cleanUp: () => removeKeys(args['redis-url'] as string, prefix)
      }
    }
  }))
  if (wanted('webhooks')) {
    log('webhooks: 10,000 channels occupied and vacated in a burst, a receiver in this process; then one failing its first 30 s')
    const notes = await webhooksScenario({
      crowdChildren,
      startBridge,
      connectCrowds,
      disconnectCrowds,
      pusherApp: { BRIDGE_PUSHER_APP_ID: 'bench', BRIDGE_PUSHER_KEY: 'bench-key', BRIDGE_PUSHER_SECRET: credentials.jwtSecret },
      repeats,
      quick,
      log
    })
    rows.push({ id: 'webhooks', scenario: 'webhooks: 10,000 channels occupied and vacated in a burst', notes })
  }
  rows.push(...await scaleScenarios({
    ...{ only, quick, repeats, runId, log, loadGenerator, crowdChildren, reconnector, plan, connectCrowds, disconnectCrowds, startBridge, metricsToken },
    startCrowd: (name) => startChild(name, 'crowd.ts'),
    token: (sub) => socketToken(credentials.jwtSecret, sub, ['*']),
    openFiles: openFileLimit()
  }))
  if (only !== undefined && !only.some((name) => !isScaleScenario(name) && (CLASSIC.some((id) => id.startsWith(name) || name.startsWith(id)) || isClusterClassic(name)))) {
    printReport(machineLine(machine))
    writeFileSync(join(workDir, 'results.json'), JSON.stringify({ machine, args, rows, findings }, null, 2))
    return
  }

  const bare = await startServer({ name: 'bare', kind: 'bare', env: bridgeEnv(), logFile: join(workDir, 'bare.log'), cwd: workDir })
  const bridge = await startBridge('bridge')
  log(`bridge at ${bridge.url}, bare route at ${bare.url}, LOG_LEVEL=${args['log-level']}`)
  // Warm-up, not measured: the JIT optimises the hot paths before any figure counts.
  for (const server of [bare, bridge]) {
    await measureRun({ loadGenerator, servers: [server], crowds: [], plan: plan(server.url, 'warm-up', rooms('empty', 1000), { connections: 32, durationMs: 2000 }) })
  }

  async function withProfile<T> (server: ServerProcess, name: string, work: () => Promise<T>): Promise<T> {
    if (!args.profile) return work()
    await server.profileStart()
    try {
      return await work()
    } finally {
      log(`  CPU profile: ${await server.profileStop(join(workDir, `${name}.cpuprofile`))}`)
    }
  }

  // Ceiling and ingest: the bare route and the bridge with nobody listening, run in turn
  // so that whatever else the machine is doing weighs on both alike.
  if (wanted('ceiling') || wanted('no-listeners')) {
    log('bare route vs bridge, no listeners')
    // The same bridge with LOG_LEVEL=warn shows what the one log line per publish costs.
    const quiet = args['log-level'] === 'info' ? await startBridge('bridge-warn', { LOG_LEVEL: 'warn' }) : undefined
    if (quiet !== undefined) await measureRun({ loadGenerator, servers: [quiet], crowds: [], plan: plan(quiet.url, 'warm-up', rooms('empty', 1000), { connections: 32, durationMs: 2000 }) })
    // laravel-echo-server's HTTP API, the server this bridge replaces, in the same run.
    const echoServer = await startServer({ name: 'laravel-echo-server', kind: 'laravel-echo-server', env: { ECHO_KEY: credentials.apiToken }, logFile: join(workDir, 'laravel-echo-server.log'), cwd: workDir })
    const echoPlan = (scenario: string, load: Partial<LoadPlan>) => ({ ...plan(echoServer.url, scenario, rooms('empty', 1000), load), target: 'laravel-echo-server' as const })
    await measureRun({ loadGenerator, servers: [echoServer], crowds: [], plan: echoPlan('warm-up', { connections: 32, durationMs: 2000 }) })
    const bareRuns: RunFigures[] = []
    const bridgeRuns: RunFigures[] = []
    const quietRuns: RunFigures[] = []
    const echoRuns: RunFigures[] = []
    const ratios: number[] = []
    const quietRatios: number[] = []
    const echoRatios: number[] = []
    await withProfile(bare, 'ceiling', () => withProfile(bridge, 'no-listeners', async () => {
      for (let i = 0; i < repeats; i++) {
        const ceiling = await measureRun({ loadGenerator, servers: [bare], crowds: [], plan: plan(bare.url, 'ceiling', rooms('empty', 1000), saturate) })
        const ingest = await measureRun({ loadGenerator, servers: [bridge], crowds: [], plan: plan(bridge.url, 'no-listeners', rooms('empty', 1000), saturate) })
        bareRuns.push(ceiling)
        bridgeRuns.push(ingest)
        ratios.push(ingest.publishesPerSec / ceiling.publishesPerSec)
        if (quiet !== undefined) {
          const quietIngest = await measureRun({ loadGenerator, servers: [quiet], crowds: [], plan: plan(quiet.url, 'no-listeners-warn', rooms('empty', 1000), saturate) })
          quietRuns.push(quietIngest)
          quietRatios.push(quietIngest.publishesPerSec / ceiling.publishesPerSec)
        }
        const echoIngest = await measureRun({ loadGenerator, servers: [echoServer], crowds: [], plan: echoPlan('laravel-echo-server', saturate) })
        echoRuns.push(echoIngest)
        echoRatios.push(echoIngest.publishesPerSec / ceiling.publishesPerSec)
        log(`  run ${i + 1}/${repeats}: bare ${fmt(ceiling.publishesPerSec)}/s, bridge ${fmt(ingest.publishesPerSec)}/s` +
          (quiet === undefined ? '' : `, bridge at warn ${fmt(quietRuns.at(-1)?.publishesPerSec)}/s`) +
          `, laravel-echo-server ${fmt(echoRuns.at(-1)?.publishesPerSec)}/s`)
      }
    }))
    bareFigures = summarize(bareRuns)
    rows.push({ id: 'ceiling', scenario: 'bare Fastify route (ceiling)', figures: bareFigures, ratioToBare: 1, notes: bareFigures.notes })
    const ingest = summarize(bridgeRuns)
    rows.push({ id: 'no-listeners', scenario: 'publishes, no listeners', figures: ingest, ratioToBare: median(ratios), notes: ingest.notes })
    if (quiet !== undefined) {
      const quietIngest = summarize(quietRuns)
      rows.push({ id: 'no-listeners-warn', scenario: 'publishes, no listeners, LOG_LEVEL=warn', figures: quietIngest, ratioToBare: median(quietRatios), notes: quietIngest.notes })
      await quiet.stop()
    }
    const echoIngest = summarize(echoRuns)
    rows.push({ id: 'laravel-echo-server', scenario: 'yardstick: laravel-echo-server HTTP API, no listeners', figures: echoIngest, ratioToBare: median(echoRatios), notes: echoIngest.notes })
    await echoServer.stop()
  }

  if (wanted('small-rooms')) {
    log('many small rooms: 1,000 sockets in 500 rooms of 2')
    const roomNames = rooms('pair', 500)
    const crowds = await connectCrowds(crowdChildren, 'bridge', 1000, () => bridge.url, (i) => [roomNames[i % 500] as string])
    const figures = await repeat('small rooms', () =>
      measureRun({ loadGenerator, servers: [bridge], crowds, plan: plan(bridge.url, 'small-rooms', roomNames, saturate) }))
    rows.push({ id: 'small-rooms', scenario: 'many small rooms (500 × 2 sockets)', figures, ratioToBare: ratio(figures), notes: figures.notes })
    await disconnectCrowds(crowds)
  }

  if (wanted('large-room')) {
    // The bridge and the two yardsticks each get their own 2,000 sockets, and are run in
    // turn, so the machine's other load weighs on all three alike.
    log('one large room: 2,000 sockets; the bridge, socket.io defaults and plain ws in turn')
    const targets = [
      { id: 'large-room', scenario: 'one large room (2,000 sockets), 10 publishes/s', server: bridge },
      { id: 'large-room-socket.io', scenario: 'yardstick: socket.io 4 defaults, same room', server: await startYardstick('socket.io') },
      { id: 'large-room-ws', scenario: 'yardstick: one plain ws send per socket, same room', server: await startYardstick('ws') }
    ]
    const crowdsOf = new Map<string, Crowd[]>()
    for (const target of targets) {
      crowdsOf.set(target.id, await connectCrowds(crowdChildren, target.id, 2000, () => target.server.url, () => ['lobby']))
    }
    const runs = new Map<string, RunFigures[]>(targets.map((target) => [target.id, []]))
    await withProfile(bridge, 'large-room', async () => {
      for (let i = 0; i < repeats; i++) {
        for (const target of targets) {
          const figures = await measureRun({
            loadGenerator,
            servers: [target.server],
            crowds: crowdsOf.get(target.id) ?? [],
            plan: plan(target.server.url, target.id, ['lobby'], { connections: 4, rate: 10, count: 50 })
          })
          runs.get(target.id)?.push(figures)
        }
        log(`  run ${i + 1}/${repeats}: CPU µs per delivery ${targets.map((target) => `${target.id} ${fmt(runs.get(target.id)?.at(-1)?.cpuPerDelivery, 1)}`).join(', ')}`)
      }
    })
    for (const target of targets) {
      const figures = summarize(runs.get(target.id) ?? [])
      rows.push({ id: target.id, scenario: target.scenario, figures, notes: figures.notes })
      await disconnectCrowds(crowdsOf.get(target.id) ?? [])
      if (target.server !== bridge) await target.server.stop()
    }
  }

  if (wanted('steady')) {
    log('steady 500 publishes/s: 200 sockets in 50 rooms of 4')
    const roomNames = rooms('group', 50)
    const crowds = await connectCrowds(crowdChildren, 'bridge', 200, () => bridge.url, (i) => [roomNames[i % 50] as string])
    const figures = await withProfile(bridge, 'steady', () => repeat('steady', () =>
      measureRun({ loadGenerator, servers: [bridge], crowds, plan: plan(bridge.url, 'steady', roomNames, { connections: 16, rate: 500, count: 2500 }) })))
    rows.push({ id: 'steady', scenario: 'steady 500 publishes/s (200 sockets, 50 rooms)', figures, notes: figures.notes })
    await disconnectCrowds(crowds)
  }

  // Laravel Echo and Laravel's Pusher path (bench/echo-scenarios.ts, bench/presence.ts).
  const echoContext: EchoScenarioContext = { loadGenerator, crowdChildren, bridge, bare, jwtSecret: credentials.jwtSecret, repeats, startBridge, plan, log }
  if (wanted('large-room-echo')) rows.push(await largeRoomEcho(echoContext))
  if (wanted('pusher')) rows.push(...await pusherPath(echoContext))
  // The Pusher protocol's sockets (bench/pusher-protocol.ts); `--only=pusher` runs it too.
  if (wanted('pusher-protocol')) rows.push(...await pusherProtocol({ ...echoContext, startYardstick, quick }))
  if (wanted('presence')) {
    log('presence: 1,000 Echo sockets join and leave one presence channel (authorized by tokens)')
    const presence = await presenceScenario({ crowdChildren, server: bridge, jwtSecret: credentials.jwtSecret, apiToken: credentials.apiToken, repeats, log })
    rows.push({ id: 'presence', scenario: 'presence channel, 1,000 members joining and leaving', notes: presence.notes })
  }
  if (wanted('presence-churn')) {
    log('presence-churn: 20 sockets join and leave a 500-member presence channel at the allowed rate while publishes go on')
    const notes = await presenceChurnScenario({
      crowdChildren,
      loadGenerator,
      // Load shedding at its defaults: what the churn costs shows as 503s too.
      startBridge: () => startBridge('bridge-churn', { BRIDGE_MAX_EVENT_LOOP_DELAY: '', BRIDGE_MAX_EVENT_LOOP_UTILIZATION: '' }),
      plan,
      jwtSecret: credentials.jwtSecret,
      repeats,
      quick,
      log
    })
    rows.push({ id: 'presence-churn', scenario: 'presence churn: 20 flapping sockets, 500 members, 200 publishes/s', notes })
  }

  await bare.stop()

  const openFiles = openFileLimit()
  if (wanted('idle') && openFiles < 12_000) {
    log(`idle sockets: skipped, the open-file limit is ${openFiles} (raise it with ulimit -n to 12,000 or more)`)
    rows.push({ id: 'idle', scenario: '10,000 idle sockets', notes: [`not measured: open-file limit ${openFiles}`] })
    await bridge.stop()
  } else if (wanted('idle')) {
    // Fresh processes, so that nothing earlier scenarios left behind is counted.
    await bridge.stop()
    log('idle sockets: 10,000 connected, each subscribed to one room; the bridge, then socket.io defaults')
    const idleBridge = await startBridge('bridge-idle')
    const idleFigures = await idleMemory(crowdChildren, idleBridge, 'idle')
    rows.push({ id: 'idle', scenario: '10,000 idle sockets', kbPerIdleSocket: idleFigures, notes: [`heap+external ${fmt(idleFigures.heap, 1)} KB per socket`] })
    await idleBridge.stop()
    const yardstick = await startYardstick('socket.io')
    const yardstickFigures = await idleMemory(crowdChildren, yardstick, 'idle-socket.io')
    rows.push({ id: 'idle-socket.io', scenario: 'yardstick: socket.io 4 defaults, 10,000 idle sockets', kbPerIdleSocket: yardstickFigures, notes: [`heap+external ${fmt(yardstickFigures.heap, 1)} KB per socket`] })
    await yardstick.stop()
  } else {
    await bridge.stop()
  }

  if (only === undefined || only.some(isClusterClassic)) {
    await runCluster(loadGenerator, crowdChildren)
  }

  printReport(machineLine(machine))
  writeFileSync(join(workDir, 'results.json'), JSON.stringify({ machine, args, rows, findings }, null, 2))
  log(`results in ${join(workDir, 'results.json')}`)
}

/** Two bridge nodes sharing Redis: publishes go to node A, sockets are spread over A and B. */
async function runCluster (loadGenerator: BenchChild, crowdChildren: BenchChild[]): Promise<void> {
  const redis = { REDIS_URL: args['redis-url'] as string, BRIDGE_REDIS_PREFIX: `bench-${runId}:` }
  const nodeA = await startBridge('cluster-a', redis)
  const nodeB = await startBridge('cluster-b', redis)
  log(`cluster: node A ${nodeA.url}, node B ${nodeB.url}, ${redis.REDIS_URL}, keys under ${redis.BRIDGE_REDIS_PREFIX}`)
  try {
    await clusterScenarios(loadGenerator, crowdChildren, nodeA, nodeB)
  } finally {
    await Promise.all([nodeA, nodeB].map((node) => node.stop()))
    await removeKeys(redis.REDIS_URL, redis.BRIDGE_REDIS_PREFIX)
  }
}

/** Removes the keys the cluster nodes left in Redis (the stream, sessions, de-duplication claims). */
async function removeKeys (url: string, prefix: string): Promise<void> {
  const client = createClient({ url })
  await client.connect()
  let removed = 0
  for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
    if (keys.length > 0) removed += await client.del(keys)
  }
  await client.close()
  log(`  removed ${removed} Redis keys under ${prefix}`)
}

async function clusterScenarios (loadGenerator: BenchChild, crowdChildren: BenchChild[], nodeA: ServerProcess, nodeB: ServerProcess): Promise<void> {
  const nodes = [nodeA, nodeB]
  const urlOf = (i: number) => (nodes[i % 2] as ServerProcess).url

  // A publish on A must reach a socket on B, or this build has no cluster mode to measure.
  const probe = await connectCrowds(crowdChildren.slice(0, 1), 'cluster', 1, () => nodeB.url, () => ['cluster_probe'])
  const check = await measureRun({ loadGenerator, servers: nodes, crowds: probe, plan: plan(nodeA.url, 'cluster-probe', ['cluster_probe'], { connections: 1, rate: 10, count: 3 }) })
  await disconnectCrowds(probe)
  if (check.lost > 0 || check.refused > 0) {
    log('  a publish on node A did not reach node B: this build has no cluster mode; skipping')
    rows.push({ id: 'cluster', scenario: 'cluster (2 nodes + Redis)', notes: ['not measured: this build does not share events between nodes (REDIS_URL has no effect)'] })
    return
  }

  if (wanted('cluster-no-listeners')) {
    log('cluster: publishes, no listeners')
    const figures = await repeat('cluster no listeners', () =>
      measureRun({ loadGenerator, servers: nodes, crowds: [], plan: plan(nodeA.url, 'cluster-no-listeners', rooms('empty', 1000), saturate) }))
    rows.push({ id: 'cluster-no-listeners', scenario: 'cluster: publishes, no listeners', figures, ratioToBare: ratio(figures), notes: figures.notes })
  }
  if (wanted('cluster-small-rooms')) {
    log('cluster: many small rooms, one socket of each pair on each node')
    const roomNames = rooms('pair', 500)
    const crowds = await connectCrowds(crowdChildren, 'cluster', 1000, urlOf, (i) => [roomNames[Math.floor(i / 2)] as string])
    const figures = await repeat('cluster small rooms', () =>
      measureRun({ loadGenerator, servers: nodes, crowds, plan: plan(nodeA.url, 'cluster-small-rooms', roomNames, saturate) }))
    rows.push({ id: 'cluster-small-rooms', scenario: 'cluster: many small rooms (500 × 2 sockets)', figures, ratioToBare: ratio(figures), notes: figures.notes })
    await disconnectCrowds(crowds)
  }
  if (wanted('cluster-large-room')) {
    log('cluster: one large room, 1,000 sockets on each node')
    const crowds = await connectCrowds(crowdChildren, 'cluster', 2000, urlOf, () => ['lobby'])
    const figures = await repeat('cluster large room', () =>
      measureRun({ loadGenerator, servers: nodes, crowds, plan: plan(nodeA.url, 'cluster-large-room', ['lobby'], { connections: 4, rate: 10, count: 50 }) }))
    rows.push({ id: 'cluster-large-room', scenario: 'cluster: one large room (2 × 1,000 sockets), 10 publishes/s', figures, notes: figures.notes })
    await disconnectCrowds(crowds)
  }
  if (wanted('cluster-steady')) {
    log('cluster: steady 500 publishes/s, 200 sockets over both nodes')
    const roomNames = rooms('group', 50)
    const crowds = await connectCrowds(crowdChildren, 'cluster', 200, urlOf, (i) => [roomNames[Math.floor(i / 4)] as string])
    const figures = await repeat('cluster steady', () =>
      measureRun({ loadGenerator, servers: nodes, crowds, plan: plan(nodeA.url, 'cluster-steady', roomNames, { connections: 16, rate: 500, count: 2500 }) }))
    rows.push({ id: 'cluster-steady', scenario: 'cluster: steady 500 publishes/s (200 sockets)', figures, notes: figures.notes })
    await disconnectCrowds(crowds)
  }
}

async function repeat (label: string, once: () => Promise<RunFigures>): Promise<RunFigures> {
  const runs: RunFigures[] = []
  for (let i = 0; i < repeats; i++) {
    runs.push(await once())
    log(`  ${label} run ${i + 1}/${repeats}: ${fmt(runs.at(-1)?.publishesPerSec)} publishes/s`)
  }
  return summarize(runs)
}

function printFindings (): string[] {
  if (findings.length === 0) return []
  return ['', markdownTable(['scenario', 'measured', 'command'], findings.map((finding) => [finding.scenario, finding.measured.join('; '), `\`${finding.command}\``])), '']
}

function printReport (machine: string): void {
  const header = ['scenario', 'publishes/s', 'deliveries/s', 'lost', 'HTTP p50/p99 ms', 'e2e p50/p99 ms', 'CPU µs/publish', 'CPU µs/delivery', 'KB/idle socket', 'ratio to bare']
  const table = rows.map((row) => {
    const f = row.figures
    return [
      row.scenario,
      fmt(f?.publishesPerSec),
      fmt(f?.deliveriesPerSec),
      f === undefined ? '-' : String(f.lost + f.extra),
      f === undefined ? '-' : `${fmt(f.httpP50, 2)} / ${fmt(f.httpP99, 2)}`,
      f === undefined || Number.isNaN(f.e2eP50) ? '-' : `${fmt(f.e2eP50, 2)} / ${fmt(f.e2eP99, 2)}`,
      fmt(f?.cpuPerPublish, 1),
      fmt(f?.cpuPerDelivery, 1),
      fmt(row.kbPerIdleSocket?.rss, 1),
      fmt(row.ratioToBare, 2)
    ]
  })
  const notes = rows.flatMap((row) => {
    const f = row.figures
    const split = f !== undefined && !Number.isNaN(f.cpuPerDelivery) && f.cpuPerDelivery > 0 && f.publishesPerSec < 100
      ? [`CPU per delivery ${fmt(f.cpuPerDelivery * f.systemShare, 1)} µs in the kernel (socket writes), ${fmt(f.cpuPerDelivery * (1 - f.systemShare), 1)} µs in the process`]
      : []
    return [...split, ...row.notes].map((note) => `- ${row.scenario}: ${note}`)
  })
  process.stdout.write([
    ...(rows.length === 0 ? [] : ['', markdownTable(header, table)]),
    ...printFindings(),
    '',
    `Machine: ${machine}.`,
    `Medians of ${repeats} runs per scenario; "lost" counts events owed and not received (plus any received twice) over all runs.`,
    ...(notes.length > 0 ? ['', ...notes] : []),
    ''
  ].join('\n'))
}

try {
  await main()
} catch (error) {
  log(`failed: ${error instanceof Error ? error.stack : String(error)}`)
  log(`logs in ${workDir}`)
  process.exitCode = 1
} finally {
  killAll()
}
