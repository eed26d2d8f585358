// The `webhooks` scenario: 10,000 channels occupied and vacated in a burst (100 sockets of the
// bridge's rooms protocol, 100 rooms each, subscribing and then disconnecting), with webhooks
// to a receiver in this process. Measured: the requests the receiver got, events per request,
// the time from the sockets' disconnect until the receiver had every event, and the bridge's CPU
// per subscription beside the same burst on a bridge without webhooks; then the same with a
// receiver that answers 500 for its first 30 s.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import type { BenchChild } from './ipc.ts'
import type { Crowd } from './measure.ts'
import type { ServerProcess } from './servers.ts'
import { fmt, median } from './stats.ts'

export interface WebhooksSetup {
  crowdChildren: BenchChild[]
  startBridge: (name: string, extra?: Record<string, string>) => Promise<ServerProcess>
  connectCrowds: (crowdChildren: BenchChild[], name: string, count: number, urlOf: (i: number) => string, roomsOf: (i: number) => string[]) => Promise<Crowd[]>
  disconnectCrowds: (crowds: Crowd[]) => Promise<void>
  pusherApp: Record<string, string>
  repeats: number
  quick: boolean
  log: (line: string) => void
}

interface Receiver {
  url: string
  requests: number
  events: number
  /** Distinct events (channel and name) received so far. */
  distinct: Set<string>
  /** When `distinct` reached `expected`. */
  completeAt: number
  expected: number
  failUntil: number
  close: () => Promise<void>
}

async function startReceiver (): Promise<Receiver> {
  const receiver: Receiver = { url: '', requests: 0, events: 0, distinct: new Set(), completeAt: 0, expected: 0, failUntil: 0, close: async () => {} }
  const server = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      receiver.requests += 1
      if (Date.now() < receiver.failUntil) {
        response.statusCode = 500
        return response.end()
      }
      const { events } = JSON.parse(Buffer.concat(chunks).toString()) as { events: Array<{ name: string, channel: string }> }
      receiver.events += events.length
      for (const { name, channel } of events) receiver.distinct.add(`${name} ${channel}`)
      if (receiver.completeAt === 0 && receiver.expected > 0 && receiver.distinct.size >= receiver.expected) receiver.completeAt = Date.now()
      response.end('ok')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/pusher/webhooks`
  receiver.close = () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()) })
  return receiver
}

interface BurstFigures { cpuMicros: number, requests: number, events: number, untilAllMs: number }

export async function webhooksScenario (setup: WebhooksSetup): Promise<string[]> {
  const { crowdChildren, connectCrowds, disconnectCrowds, log, quick } = setup
  const sockets = quick ? 10 : 100
  const roomsEach = 100
  const channels = sockets * roomsEach
  const failMs = quick ? 5000 : 30_000
  const limits = { BRIDGE_MAX_SUBSCRIBES_PER_SECOND: '10000', BRIDGE_MAX_ROOMS_PER_SOCKET: String(roomsEach) }
  let run = 0

  async function burst (bridge: ServerProcess, receiver: Receiver | undefined, failFor = 0): Promise<BurstFigures> {
    run += 1
    const name = `webhooks-${run}`
    const before = (await bridge.usage()).cpuMicros
    if (receiver !== undefined) {
      receiver.requests = 0
      receiver.events = 0
      receiver.distinct.clear()
      receiver.completeAt = 0
      receiver.expected = 2 * channels
      receiver.failUntil = Date.now() + failFor
    }
    const crowds = await connectCrowds(crowdChildren, name, sockets, () => bridge.url, (i) => Array.from({ length: roomsEach }, (_, r) => `wh${run}_${i}_${r}`))
    const burstEnd = Date.now()
    await disconnectCrowds(crowds)
    if (receiver !== undefined) {
      const deadline = Date.now() + 10 * 60_000
      while (receiver.distinct.size < 2 * channels && Date.now() < deadline) await sleep(50)
    }
    const untilAllMs = (receiver?.completeAt || Date.now()) - burstEnd
    const after = (await bridge.usage()).cpuMicros
    return { cpuMicros: after - before, requests: receiver?.requests ?? 0, events: receiver?.events ?? 0, untilAllMs }
  }

  const plain = await setup.startBridge('bridge-no-webhooks', limits)
  const receiver = await startReceiver()
  const hooked = await setup.startBridge('bridge-webhooks', { ...setup.pusherApp, ...limits, BRIDGE_WEBHOOK_URL: receiver.url })
  const off: number[] = []
  const on: BurstFigures[] = []
  for (let i = 0; i < setup.repeats; i++) {
    off.push((await burst(plain, undefined)).cpuMicros)
    on.push(await burst(hooked, receiver))
    log(`  run ${i + 1}/${setup.repeats}: ${on.at(-1)?.requests} requests, all ${2 * channels} events ${on.at(-1)?.untilAllMs} ms after the burst`)
  }
  const failing = await burst(hooked, receiver, failMs)
  log(`  failing receiver: ${failing.requests} requests, all events ${failing.untilAllMs} ms after the burst`)
  await Promise.all([plain.stop(), hooked.stop(), receiver.close()])

  const cpuOn = median(on.map((figures) => figures.cpuMicros))
  const cpuOff = median(off)
  const requests = median(on.map((figures) => figures.requests))
  return [
    `${channels} channels occupied and vacated: ${fmt(requests)} requests, ${fmt(2 * channels / requests, 1)} events per request, every event at the receiver ${fmt(median(on.map((figures) => figures.untilAllMs)))} ms after the sockets disconnected`,
    `bridge CPU per subscription (subscribe and its leave) ${fmt(cpuOn / channels, 1)} µs with webhooks, ${fmt(cpuOff / channels, 1)} µs without: ${fmt((cpuOn - cpuOff) / channels, 1)} µs more`,
    `receiver answering 500 for its first ${failMs / 1000} s: ${failing.requests} requests, every event at the receiver ${fmt(failing.untilAllMs)} ms after the sockets disconnected (${failing.events} received in all, each once: ${failing.events === 2 * channels ? 'yes' : 'no'})`
  ]
}
