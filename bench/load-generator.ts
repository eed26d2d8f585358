// Child process that posts publishes over keep-alive connections (undici), either as fast as
// the server answers (closed loop) or at a steady rate (open loop), and reports what came back.
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { Client, Pool } from 'undici'
import { serve } from './ipc.ts'
import { acceptedStatus, eventsSigner, triggerBody, type PusherApp } from './pusher-path.ts'
import { SampleBuffer } from './stats.ts'

export interface LoadPlan {
  /** Origin of the bridge node that receives every publish. */
  origin: string
  apiToken: string
  /** Rooms to publish into, taken in turn. */
  rooms: string[]
  /** Prefix of each publish's uuid, unique per run so de-duplication never kicks in. */
  uuidPrefix: string
  connections: number
  /** Closed loop: `connections` requests in flight for `durationMs`. */
  durationMs?: number
  /** Open loop: `count` publishes spread evenly at `rate` per second. */
  rate?: number
  count?: number
  /** Publish through the Pusher HTTP API of this app (answered 200) instead of /api/sms (202). */
  pusher?: PusherApp
  /** Size of the `message.text` of each publish, in bytes (default: one short sentence). */
  payloadBytes?: number
  /** `laravel-echo-server`: its HTTP API (`POST /apps/bench/events`, answered 200) instead of the bridge's. */
  target?: 'bridge' | 'laravel-echo-server'
  /** Return the sequence number of every accepted publish (to check recovery for gaps). */
  recordAccepted?: boolean
  /** Open loop: open every connection (a `GET /health` each) before the first publish is due. */
  openConnectionsFirst?: boolean
}

export interface LoadResult {
  sent: number
  elapsedMs: number
  statuses: Record<string, number>
  errors: number
  firstError?: string
  /** Accepted (202, or 200 from the Pusher API) publishes per room: what the crowd must have received. */
  acceptedPerRoom: Record<string, number>
  /** HTTP latency of each accepted publish, in ms. */
  latencies: Float64Array
  /** Publishes accepted (202 from the bridge, 200 from laravel-echo-server). */
  accepted: number
  /** HTTP latency of each 503, in ms, and how many of them came without `Retry-After`. */
  shedLatencies: Float64Array
  missingRetryAfter: number
  /** Sequence numbers of the accepted publishes, when asked for; publish `seq` goes to `rooms[seq % rooms.length]`. */
  acceptedSeqs?: number[]
  /** Wall-clock time (ms since the epoch) the first publish was due: after the connections were opened, if asked. */
  startedAt: number
}

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes. */
function now (): number {
  return performance.timeOrigin + performance.now()
}

const filler = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt.'

/**
 * Open loop: `count` publishes due evenly at `rate` per second, each sent on the first of
 * `connections` connections that is free, in the order they fell due. A late timer makes
 * everything due at once, so the rate holds on average and a slow server meets the queue it
 * would meet in production. The queue is ours, not a connection pool's: a pool looks for a
 * free connection on every request it queues, which with hundreds of busy connections costs
 * the generator more CPU than the server it loads.
 */
async function openLoop (plan: LoadPlan, publish: (client: Client, seq: number, dueAt: number) => Promise<void>): Promise<number> {
  const clients = Array.from({ length: plan.connections }, () => new Client(plan.origin, { pipelining: 1 }))
  if (plan.openConnectionsFirst === true) {
    await Promise.all(clients.map(async (client) => { await (await client.request({ path: '/health', method: 'GET' })).body.dump() }))
  }
  const start = now()
  const rate = plan.rate ?? 100
  const count = plan.count ?? rate
  const dueAt = (seq: number) => start + (seq * 1000) / rate
  /** When each publish was handed over to be sent: its latency counts from then, queueing included. */
  const handedAt = new Float64Array(count)
  let due = 0
  let taken = 0
  const idle: Array<() => void> = []
  const workers = clients.map(async (client) => {
    while (taken < count) {
      if (taken === due) {
        await new Promise<void>((resolve) => idle.push(resolve))
        continue
      }
      const seq = taken++
      await publish(client, seq, handedAt[seq] as number)
    }
  })
  while (due < count) {
    // Always through the event loop, even when the next publish is due within the
    // millisecond: a loop that waits for it without yielding sends nothing meanwhile.
    const wait = dueAt(due) - now()
    await (wait >= 1 ? sleep(Math.floor(wait)) : new Promise((resolve) => setImmediate(resolve)))
    const handedOver = now()
    while (due < count && dueAt(due) <= handedOver) handedAt[due++] = handedOver
    // Wake as many idle connections as publishes fell due, the last to go idle first (as a pool
    // reuses its first free connection): a rate the server keeps up with opens few connections.
    for (let n = due - taken; n > 0 && idle.length > 0; n--) idle.pop()?.()
  }
  for (const wake of idle.splice(0)) wake()
  await Promise.all(workers)
  await Promise.all(clients.map((client) => client.close()))
  return start
}

async function run (plan: LoadPlan): Promise<LoadResult> {
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${plan.apiToken}` }
  const pusherHeaders = { 'content-type': 'application/json' }
  const echoServer = plan.target === 'laravel-echo-server'
  const signedPath = plan.pusher === undefined ? undefined : eventsSigner(plan.pusher)
  const path = echoServer ? '/apps/bench/events' : '/api/sms/new-message'
  const acceptedCode = echoServer ? 200 : acceptedStatus(plan)
  const text = plan.payloadBytes === undefined ? filler : filler.repeat(Math.ceil(plan.payloadBytes / filler.length)).slice(0, plan.payloadBytes)
  const statuses: Record<string, number> = {}
  const acceptedPerRoom: Record<string, number> = {}
  const latencies = new SampleBuffer()
  const shedLatencies = new SampleBuffer()
  const acceptedSeqs: number[] = []
  let accepted = 0
  let missingRetryAfter = 0
  let sent = 0
  let errors = 0
  let firstError: string | undefined

  /** `sentAt`: when the publish was handed over (open loop), so time spent queued in the client counts. */
  async function publish (dispatcher: Pool | Client, seq: number, sentAt = now()): Promise<void> {
    const room = plan.rooms[seq % plan.rooms.length] as string
    const message = { id: seq, text, from: 'bench', sentAt }
    // The Pusher path carries the same message, as Laravel's broadcaster would send it, to the
    // room's channel (room R is the private channel R).
    const body = plan.pusher !== undefined
      ? triggerBody(`private-${room}`, 'new_message', { message })
      : JSON.stringify(echoServer
        ? { channel: room, name: 'new_message', data: { room, uuid: `${plan.uuidPrefix}-${seq}`, message } }
        : { room, uuid: `${plan.uuidPrefix}-${seq}`, message })
    const request = signedPath === undefined
      ? { path, headers }
      : { path: signedPath(body), headers: pusherHeaders }
    sent++
    try {
      const response = await dispatcher.request({ ...request, method: 'POST', body })
      await response.body.text()
      const status = String(response.statusCode)
      statuses[status] = (statuses[status] ?? 0) + 1
      if (response.statusCode === acceptedCode) {
        accepted++
        latencies.push(now() - sentAt)
        acceptedPerRoom[room] = (acceptedPerRoom[room] ?? 0) + 1
        if (plan.recordAccepted === true) acceptedSeqs.push(seq)
      } else if (response.statusCode === 503) {
        shedLatencies.push(now() - sentAt)
        if (response.headers['retry-after'] === undefined) missingRetryAfter++
      }
    } catch (error) {
      errors++
      firstError ??= error instanceof Error ? error.message : String(error)
    }
  }

  let start = now()
  if (plan.durationMs !== undefined) {
    const pool = new Pool(plan.origin, { connections: plan.connections, pipelining: 1 })
    const end = start + plan.durationMs
    let seq = 0
    await Promise.all(Array.from({ length: plan.connections }, async () => {
      while (now() < end) await publish(pool, seq++)
    }))
    await pool.close()
  } else {
    start = await openLoop(plan, publish)
  }
  const elapsedMs = now() - start
  return {
    sent,
    elapsedMs,
    statuses,
    errors,
    ...(firstError !== undefined && { firstError }),
    acceptedPerRoom,
    latencies: latencies.values(),
    accepted,
    shedLatencies: shedLatencies.values(),
    missingRetryAfter,
    ...(plan.recordAccepted === true && { acceptedSeqs }),
    startedAt: start
  }
}

export interface FloodPlan {
  origin: string
  /** Clients opening handshakes one after the other, side by side. */
  clients: number
  durationMs: number
}

export interface FloodResult {
  handshakes: number
  statuses: Record<string, number>
  errors: number
}

/** Unauthenticated Engine.IO polling handshakes, as fast as the server answers them, never followed up. */
async function flood (plan: FloodPlan): Promise<FloodResult> {
  const pool = new Pool(plan.origin, { connections: plan.clients, pipelining: 1 })
  const statuses: Record<string, number> = {}
  let handshakes = 0
  let errors = 0
  const end = now() + plan.durationMs
  await Promise.all(Array.from({ length: plan.clients }, async () => {
    while (now() < end) {
      try {
        const response = await pool.request({ path: '/socket.io/?EIO=4&transport=polling', method: 'GET' })
        await response.body.text()
        handshakes++
        statuses[response.statusCode] = (statuses[response.statusCode] ?? 0) + 1
      } catch {
        errors++
        await sleep(10)
      }
    }
  }))
  await pool.close()
  return { handshakes, statuses, errors }
}

serve({ run: (plan: LoadPlan) => run(plan), flood: (plan: FloodPlan) => flood(plan) })
