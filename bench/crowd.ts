// Child process holding a crowd of real socket.io clients: connects them with their JWT,
// subscribes them to their rooms (or, as Laravel Echo does, to their private channels), counts what each
// receives and how long it took. Members may speak the Pusher protocol instead (crowd-pusher.ts).
import { performance } from 'node:perf_hooks'
import { io, type Socket } from 'socket.io-client'
import { echoSubscribe, presenceHandlers } from './crowd-echo.ts'
import { connectPusher, type PusherCredentials } from './crowd-pusher.ts'
import { serve } from './ipc.ts'
import { SampleBuffer } from './stats.ts'

export interface CrowdMember {
  url: string
  token: string
  rooms: string[]
  /**
   * Speak Laravel Echo's protocol: subscribe to each room's Echo channel, `private-<room>` (one
   * audience with the room), events arrive as `(channel, data)`.
   */
  echo?: boolean
  /** Speak the Pusher protocol on `/app/{key}` instead (a raw ws client), subscribed to `private-<room>`. */
  pusher?: PusherCredentials
  /** Loopback source address to connect from (127.0.0.2, …): each gives its own ephemeral port range. */
  localAddress?: string
}

export interface CrowdReport {
  /** Events received by each member, in the order of the plan. */
  received: number[]
  /** Publish-to-receipt time of every event, in ms. */
  latencies: Float64Array
}

interface Member {
  /** Absent on Pusher-protocol members. */
  socket?: Socket
  close: () => void
  received: number
}

/** Members by group: one group per server under test, so crowds can wait side by side. */
const groups = new Map<string, { members: Member[], latencies: SampleBuffer }>()

function group (name: string) {
  let found = groups.get(name)
  if (found === undefined) groups.set(name, found = { members: [], latencies: new SampleBuffer() })
  return found
}

function now (): number {
  return performance.timeOrigin + performance.now()
}

function onEvent (member: Member, latencies: SampleBuffer, data: { message?: { sentAt?: number } }): void {
  member.received++
  const sentAt = data.message?.sentAt
  if (typeof sentAt === 'number') latencies.push(now() - sentAt)
}

async function connectOne (plan: CrowdMember, latencies: SampleBuffer): Promise<Member> {
  if (plan.pusher !== undefined) {
    const member: Member = { close: () => {}, received: 0 }
    member.close = (await connectPusher(plan.url, plan.pusher, plan.rooms, (data) => onEvent(member, latencies, data))).close
    return member
  }
  const socket = io(plan.url, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    timeout: 60_000,
    ...(plan.localAddress !== undefined && { localAddress: plan.localAddress }),
    // Echo passes `auth: { headers }` to io(); the bridge reads the token beside it.
    auth: plan.echo === true ? { token: plan.token, headers: {} } : { token: plan.token }
  })
  const member: Member = { socket, close: () => socket.disconnect(), received: 0 }
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('connect_error', reject)
  })
  if (plan.echo === true) {
    for (const room of plan.rooms) await echoSubscribe(socket, `private-${room}`)
    socket.on('new_message', (_channel, data) => onEvent(member, latencies, data))
    return member
  }
  for (const room of plan.rooms) {
    const ack = await socket.timeout(60_000).emitWithAck('subscribe', { room }) as { ok: boolean, error?: { message: string } }
    if (!ack.ok) throw new Error(`subscribe ${room} refused: ${ack.error?.message}`)
  }
  socket.on('new_message', (data) => onEvent(member, latencies, data))
  return member
}

/** Connects every member, `concurrency` handshakes at a time so the server is not flooded. */
async function connect ({ name, plan, concurrency }: { name: string, plan: CrowdMember[], concurrency: number }): Promise<number> {
  const { latencies } = group(name)
  const connected: Member[] = new Array(plan.length)
  let next = 0
  await Promise.all(Array.from({ length: Math.min(concurrency, plan.length) }, async () => {
    while (next < plan.length) {
      const index = next++
      connected[index] = await connectOne(plan[index] as CrowdMember, latencies)
    }
  }))
  group(name).members = connected
  return connected.length
}

function report ({ name }: { name: string }): CrowdReport {
  const { members, latencies } = group(name)
  const result = { received: members.map((member) => member.received), latencies: latencies.values() }
  for (const member of members) member.received = 0
  latencies.clear()
  return result
}

function disconnect ({ name }: { name: string }): number {
  const { members } = group(name)
  for (const member of members) member.close()
  groups.delete(name)
  return members.length
}

serve({
  connect,
  /** Events received so far by a group, to wait for stragglers without a report. */
  count: ({ name }: { name: string }) => group(name).members.reduce((sum, member) => sum + member.received, 0),
  report,
  disconnect,
  ...presenceHandlers((name) => group(name).members.flatMap((member) => member.socket === undefined ? [] : [member.socket]))
})
