// Publish scenarios with Laravel Echo subscribers mixed in: `large-room-echo` (the large room,
// half of its sockets Echo subscribers of the room's channel, private-lobby) and `pusher` (Laravel's
// `pusher` broadcaster path, POST /apps/{app_id}/events, next to /api/sms/new-message and the
// bare route, measured in turn in one run).
import type { CrowdMember } from './crowd.ts'
import type { BenchChild } from './ipc.ts'
import type { LoadPlan } from './load-generator.ts'
import { measureRun, summarize, type Crowd, type RunFigures } from './measure.ts'
import { newPusherApp, pusherEnv } from './pusher-path.ts'
import type { ServerProcess } from './servers.ts'
import { fmt, median } from './stats.ts'
import { socketToken } from './tokens.ts'

export interface ScenarioRow {
  id: string
  scenario: string
  figures?: RunFigures
  ratioToBare?: number
  notes: string[]
}

export interface EchoScenarioContext {
  loadGenerator: BenchChild
  crowdChildren: BenchChild[]
  /** The bridge the other single-node scenarios use. */
  bridge: ServerProcess
  bare: ServerProcess
  jwtSecret: string
  repeats: number
  startBridge: (name: string, extra: Record<string, string>) => Promise<ServerProcess>
  plan: (origin: string, scenario: string, rooms: string[], load: Partial<LoadPlan>) => LoadPlan
  log: (line: string) => void
}

/** Members `0..count-1` over the crowd processes in turn; even members speak Echo's protocol. */
async function connectMixed (context: EchoScenarioContext, name: string, count: number, url: string, roomOf: (i: number) => string): Promise<Crowd[]> {
  const crowds: Crowd[] = context.crowdChildren.map((child) => ({ child, name, plan: [] }))
  for (let i = 0; i < count; i++) {
    const member: CrowdMember = { url, token: socketToken(context.jwtSecret, `user-${i}`, ['*']), rooms: [roomOf(i)], echo: i % 2 === 0 }
    crowds[i % crowds.length]?.plan.push(member)
  }
  const started = performance.now()
  await Promise.all(crowds.map((crowd) => crowd.child.request('connect', { name, plan: crowd.plan, concurrency: 50 }, 300_000)))
  context.log(`  ${count} sockets (half of them Echo) connected to ${name} and subscribed in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  return crowds
}

async function disconnect (crowds: Crowd[]): Promise<void> {
  await Promise.all(crowds.map((crowd) => crowd.child.request('disconnect', { name: crowd.name })))
  await new Promise((resolve) => setTimeout(resolve, 500))
}

/** The large-room scenario's load on 2,000 sockets of which 1,000 are Echo subscribers of `lobby`. */
export async function largeRoomEcho (context: EchoScenarioContext): Promise<ScenarioRow> {
  const { bridge, loadGenerator } = context
  context.log('one large room with Echo: 1,000 socket.io subscribers of room lobby and 1,000 Echo subscribers of its channel private-lobby')
  const crowds = await connectMixed(context, 'large-room-echo', 2000, bridge.url, () => 'lobby')
  const runs: RunFigures[] = []
  for (let i = 0; i < context.repeats; i++) {
    runs.push(await measureRun({ loadGenerator, servers: [bridge], crowds, plan: context.plan(bridge.url, 'large-room-echo', ['lobby'], { connections: 4, rate: 10, count: 50 }) }))
    context.log(`  large room with Echo run ${i + 1}/${context.repeats}: CPU µs per delivery ${fmt(runs.at(-1)?.cpuPerDelivery, 1)}`)
  }
  await disconnect(crowds)
  const figures = summarize(runs)
  return { id: 'large-room-echo', scenario: 'one large room, half Echo (1,000 + 1,000 sockets), 10 publishes/s', figures, notes: figures.notes }
}

/**
 * Closed-loop publishes into 500 rooms of 2 (one Echo socket, one socket.io subscriber each),
 * through /api/sms/new-message and through the Pusher API in turn, on a bridge with a Pusher
 * app, with the bare route run in between for the ratio.
 */
export async function pusherPath (context: EchoScenarioContext): Promise<ScenarioRow[]> {
  const { bare, loadGenerator } = context
  const app = newPusherApp()
  const bridge = await context.startBridge('bridge-pusher', pusherEnv(app))
  context.log(`Pusher API vs /api/sms: 500 rooms of 2 (one Echo socket each) on ${bridge.url}`)
  const saturate = { connections: 32, durationMs: 4000 }
  const pairs = Array.from({ length: 500 }, (_, i) => `pair_${i}`)
  const empty = Array.from({ length: 1000 }, (_, i) => `empty_${i}`)
  try {
    for (const load of [{}, { pusher: app }]) {
      await measureRun({ loadGenerator, servers: [bridge], crowds: [], plan: { ...context.plan(bridge.url, 'warm-up', empty, { connections: 32, durationMs: 2000 }), ...load } })
    }
    const crowds = await connectMixed(context, 'pusher', 1000, bridge.url, (i) => pairs[Math.floor(i / 2)] as string)
    const smsRuns: RunFigures[] = []
    const pusherRuns: RunFigures[] = []
    const smsRatios: number[] = []
    const pusherRatios: number[] = []
    for (let i = 0; i < context.repeats; i++) {
      const ceiling = await measureRun({ loadGenerator, servers: [bare], crowds: [], plan: context.plan(bare.url, 'pusher-ceiling', empty, saturate) })
      const measureSms = () => measureRun({ loadGenerator, servers: [bridge], crowds, plan: context.plan(bridge.url, 'pusher-sms', pairs, saturate) })
      const measurePusher = () => measureRun({ loadGenerator, servers: [bridge], crowds, plan: { ...context.plan(bridge.url, 'pusher', pairs, saturate), pusher: app } })
      // Each path goes first in every other run, so neither always inherits the other's garbage.
      let sms: RunFigures
      let pusher: RunFigures
      if (i % 2 === 0) {
        sms = await measureSms()
        pusher = await measurePusher()
      } else {
        pusher = await measurePusher()
        sms = await measureSms()
      }
      smsRuns.push(sms)
      pusherRuns.push(pusher)
      smsRatios.push(sms.publishesPerSec / ceiling.publishesPerSec)
      pusherRatios.push(pusher.publishesPerSec / ceiling.publishesPerSec)
      context.log(`  run ${i + 1}/${context.repeats}: bare ${fmt(ceiling.publishesPerSec)}/s, /api/sms ${fmt(sms.publishesPerSec)}/s, Pusher API ${fmt(pusher.publishesPerSec)}/s`)
    }
    await disconnect(crowds)
    const smsFigures = summarize(smsRuns)
    const pusherFigures = summarize(pusherRuns)
    const ratioNote = 'ratio to the bare route run in turn within this scenario'
    return [
      { id: 'pusher-sms', scenario: '/api/sms/new-message, 500 rooms of 2 (1 Echo + 1 socket.io)', figures: smsFigures, ratioToBare: median(smsRatios), notes: [...smsFigures.notes, ratioNote] },
      { id: 'pusher', scenario: 'Pusher API POST /apps/{id}/events, same rooms, same run', figures: pusherFigures, ratioToBare: median(pusherRatios), notes: [...pusherFigures.notes, ratioNote] }
    ]
  } finally {
    await bridge.stop()
  }
}
