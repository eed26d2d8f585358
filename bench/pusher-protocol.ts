// `pusher-protocol`: the bridge's Pusher channels protocol (`/app/{key}`, what pusher-js and Echo's
// `reverb` connector speak) under the large-room load beside the plain-ws yardstick of the same
// run, the memory of its idle subscribed connections beside the bridge's socket.io ones, and a
// room shared by the three protocols (bridge socket.io, Echo socket.io, Pusher), which must lose nothing.
import { setTimeout as sleep } from 'node:timers/promises'
import type { CrowdMember } from './crowd.ts'
import type { EchoScenarioContext } from './echo-scenarios.ts'
import { measureRun, summarize, type Crowd, type RunFigures } from './measure.ts'
import { newPusherApp, pusherEnv } from './pusher-path.ts'
import type { ServerProcess } from './servers.ts'
import { fmt } from './stats.ts'
import { socketToken } from './tokens.ts'

export interface PusherProtocolContext extends EchoScenarioContext {
  startYardstick: (kind: 'ws') => Promise<ServerProcess>
  quick: boolean
}

export interface PusherProtocolRow {
  id: string
  scenario: string
  figures?: RunFigures
  kbPerIdleSocket?: { rss: number, heap: number }
  notes: string[]
}

type Protocol = 'socket.io' | 'echo' | 'pusher'

/** Connects `count` members of `protocolOf(i)` to `url`, spread over the crowd processes in turn. */
async function connectMembers (context: PusherProtocolContext, name: string, count: number, url: string, protocolOf: (i: number) => Protocol, roomOf: (i: number) => string, app = newPusherApp()): Promise<Crowd[]> {
  const crowds: Crowd[] = context.crowdChildren.map((child) => ({ child, name, plan: [] }))
  for (let i = 0; i < count; i++) {
    const protocol = protocolOf(i)
    const member: CrowdMember = {
      url,
      token: socketToken(context.jwtSecret, `user-${i}`, ['*']),
      rooms: [roomOf(i)],
      ...(protocol === 'echo' && { echo: true }),
      ...(protocol === 'pusher' && { pusher: { key: app.key, secret: app.secret } })
    }
    crowds[i % crowds.length]?.plan.push(member)
  }
  const started = performance.now()
  await Promise.all(crowds.map((crowd) => crowd.child.request('connect', { name, plan: crowd.plan, concurrency: 50 }, 300_000)))
  context.log(`  ${count} sockets connected to ${name} and subscribed in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  return crowds
}

async function disconnect (crowds: Crowd[]): Promise<void> {
  await Promise.all(crowds.map((crowd) => crowd.child.request('disconnect', { name: crowd.name })))
  await sleep(500)
}

/** The large-room load: 50 publishes at 10/s into `room`. */
const tenPerSecond = { connections: 4, rate: 10, count: 50 }

/** Server memory per socket (after garbage collection) once `count` members are connected and subscribed, on a fresh server. */
async function idleMemory (context: PusherProtocolContext, server: ServerProcess, name: string, count: number, protocol: Protocol, app: ReturnType<typeof newPusherApp>) {
  await sleep(1000)
  const before = await server.usage(true)
  const crowds = await connectMembers(context, name, count, server.url, () => protocol, (i) => `chat_${Math.floor(i / 2)}`, app)
  await sleep(2000)
  const after = await server.usage(true)
  await disconnect(crowds)
  const kb = (bytes: number) => bytes / count / 1024
  return { rss: kb(after.rss - before.rss), heap: kb(after.heapUsed + after.external - before.heapUsed - before.external) }
}

export async function pusherProtocol (context: PusherProtocolContext): Promise<PusherProtocolRow[]> {
  const { loadGenerator, repeats } = context
  const rows: PusherProtocolRow[] = []
  const app = newPusherApp()
  const bridge = await context.startBridge('bridge-pusher-protocol', pusherEnv(app))
  const yardstick = await context.startYardstick('ws')
  try {
    // (a) The bridge's 2,000 Pusher sockets and the yardstick's 2,000 socket.io ones, run in turn.
    context.log('pusher-protocol: one room of 2,000 Pusher-protocol sockets, 10 publishes/s, beside the plain ws yardstick')
    const empty = Array.from({ length: 1000 }, (_, i) => `empty_${i}`)
    await measureRun({ loadGenerator, servers: [bridge], crowds: [], plan: context.plan(bridge.url, 'warm-up', empty, { connections: 32, durationMs: 2000 }) })
    const targets = [
      { id: 'pusher-protocol-large-room', scenario: 'Pusher protocol: one room of 2,000 sockets, 10 publishes/s', server: bridge, protocol: 'pusher' as const },
      { id: 'pusher-protocol-large-room-ws', scenario: 'yardstick: one plain ws send per socket, same room, same run', server: yardstick, protocol: 'socket.io' as const }
    ]
    const crowdsOf = new Map<string, Crowd[]>()
    for (const target of targets) crowdsOf.set(target.id, await connectMembers(context, target.id, 2000, target.server.url, () => target.protocol, () => 'lobby', app))
    const runs = new Map<string, RunFigures[]>(targets.map((target) => [target.id, []]))
    for (let i = 0; i < repeats; i++) {
      for (const target of targets) {
        runs.get(target.id)?.push(await measureRun({ loadGenerator, servers: [target.server], crowds: crowdsOf.get(target.id) ?? [], plan: context.plan(target.server.url, target.id, ['lobby'], tenPerSecond) }))
      }
      context.log(`  run ${i + 1}/${repeats}: CPU µs per delivery ${targets.map((target) => `${target.id} ${fmt(runs.get(target.id)?.at(-1)?.cpuPerDelivery, 1)}`).join(', ')}`)
    }
    const [pusherFigures, wsFigures] = targets.map((target) => summarize(runs.get(target.id) ?? []))
    for (const [index, target] of targets.entries()) {
      const figures = index === 0 ? pusherFigures : wsFigures
      await disconnect(crowdsOf.get(target.id) ?? [])
      if (figures === undefined) continue
      const ratio = index === 0 && wsFigures !== undefined ? [`CPU per delivery ${fmt(figures.cpuPerDelivery / wsFigures.cpuPerDelivery, 2)}× the plain ws yardstick's`] : []
      rows.push({ id: target.id, scenario: target.scenario, figures, notes: [...figures.notes, ...ratio] })
    }

    // (c) One room, a third of its sockets on each protocol: every event reaches each once.
    const mixedCount = context.quick ? 600 : 2000
    context.log(`pusher-protocol: a mixed room of ${mixedCount} sockets, a third each bridge socket.io, Echo socket.io, Pusher protocol`)
    const protocols: Protocol[] = ['socket.io', 'echo', 'pusher']
    const mixed = await connectMembers(context, 'pusher-protocol-mixed', mixedCount, bridge.url, (i) => protocols[i % 3] as Protocol, () => 'mixed', app)
    const mixedRuns: RunFigures[] = []
    for (let i = 0; i < repeats; i++) {
      mixedRuns.push(await measureRun({ loadGenerator, servers: [bridge], crowds: mixed, plan: context.plan(bridge.url, 'pusher-protocol-mixed', ['mixed'], tenPerSecond) }))
      const last = mixedRuns.at(-1)
      context.log(`  mixed room run ${i + 1}/${repeats}: ${fmt(last?.deliveriesPerSec)} deliveries/s, lost ${(last?.lost ?? 0) + (last?.extra ?? 0)}`)
    }
    await disconnect(mixed)
    const mixedFigures = summarize(mixedRuns)
    const lost = mixedRuns.reduce((sum, run) => sum + run.lost + run.extra, 0)
    rows.push({ id: 'pusher-protocol-mixed', scenario: `mixed room: ${mixedCount} sockets, a third each bridge socket.io, Echo socket.io, Pusher protocol`, figures: mixedFigures, notes: [...mixedFigures.notes, `lost or duplicated over all runs: ${lost} (must be 0)`] })
  } finally {
    await Promise.all([bridge.stop(), yardstick.stop()])
  }

  // (b) Idle subscribed connections, each protocol on a fresh bridge so nothing earlier is counted.
  const idleCount = context.quick ? 2000 : 5000
  context.log(`pusher-protocol: memory of ${idleCount} idle subscribed connections, Pusher protocol then socket.io, fresh bridges`)
  for (const protocol of ['pusher', 'socket.io'] as const) {
    const server = await context.startBridge(`bridge-pusher-idle-${protocol}`, pusherEnv(app))
    try {
      const figures = await idleMemory(context, server, `pusher-protocol-idle-${protocol}`, idleCount, protocol, app)
      const id = protocol === 'pusher' ? 'pusher-protocol-idle' : 'pusher-protocol-idle-socket.io'
      const scenario = protocol === 'pusher' ? `Pusher protocol: ${idleCount} idle subscribed connections` : `bridge socket.io: ${idleCount} idle subscribed sockets, same run`
      rows.push({ id, scenario, kbPerIdleSocket: figures, notes: [`heap+external ${fmt(figures.heap, 1)} KB per connection`] })
    } finally {
      await server.stop()
    }
  }
  return rows
}
