// Child process that posts publishes over keep-alive connections (undici), either as fast as
// the server answers (closed loop) or at a steady rate (open loop), and reports what came back.
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { Pool } from 'undici'
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
}

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes. */
function now (): number {
  return performance.timeOrigin + performance.now()
}

const filler = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt.'

async function run (plan: LoadPlan): Promise<LoadResult> {
  const pool = new Pool(plan.origin, { connections: plan.connections, pipelining: 1 })
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${plan.apiToken}` }
  const pusherHeaders = { 'content-type': 'application/json' }
  const accepted = acceptedStatus(plan)
  const signedPath = plan.pusher === undefined ? undefined : eventsSigner(plan.pusher)
  const statuses: Record<string, number> = {}
  const acceptedPerRoom: Record<string, number> = {}
  const latencies = new SampleBuffer()
  let sent = 0
  let errors = 0
  let firstError: string | undefined

  async function publish (seq: number): Promise<void> {
    const room = plan.rooms[seq % plan.rooms.length] as string
    const sentAt = now()
    const message = { id: seq, text: filler, from: 'bench', sentAt }
    // The Pusher path carries the same message, as Laravel's broadcaster would send it.
    const body = plan.pusher === undefined
      ? JSON.stringify({ room, uuid: `${plan.uuidPrefix}-${seq}`, message })
      : triggerBody(room, 'new_message', { message })
    const request = signedPath === undefined
      ? { path: '/api/sms/new-message', headers }
      : { path: signedPath(body), headers: pusherHeaders }
    sent++
    try {
      const response = await pool.request({ ...request, method: 'POST', body })
      await response.body.text()
      const status = String(response.statusCode)
      statuses[status] = (statuses[status] ?? 0) + 1
      if (response.statusCode === accepted) {
        latencies.push(now() - sentAt)
        acceptedPerRoom[room] = (acceptedPerRoom[room] ?? 0) + 1
      }
    } catch (error) {
      errors++
      firstError ??= error instanceof Error ? error.message : String(error)
    }
  }

  const start = now()
  if (plan.durationMs !== undefined) {
    const end = start + plan.durationMs
    let seq = 0
    await Promise.all(Array.from({ length: plan.connections }, async () => {
      while (now() < end) await publish(seq++)
    }))
  } else {
    const rate = plan.rate ?? 100
    const count = plan.count ?? rate
    const inFlight: Array<Promise<void>> = []
    // Each publish has its due time; a late timer sends everything due at once, so the
    // rate holds on average and a slow server meets the queue it would meet in production.
    for (let seq = 0; seq < count;) {
      const due = start + (seq * 1000) / rate
      const wait = due - now()
      if (wait > 1) await sleep(Math.floor(wait))
      while (seq < count && start + (seq * 1000) / rate <= now()) inFlight.push(publish(seq++))
    }
    await Promise.all(inFlight)
  }
  const elapsedMs = now() - start
  await pool.close()
  return { sent, elapsedMs, statuses, errors, ...(firstError !== undefined && { firstError }), acceptedPerRoom, latencies: latencies.values() }
}

serve({ run: (plan: LoadPlan) => run(plan) })
