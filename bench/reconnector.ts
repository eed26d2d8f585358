// Child process holding socket.io clients that lose their connection on purpose, the way a
// flaky network does, and come back with socket.io's connection-state recovery. Each one
// records the sequence number of every event it gets and where it restarted without
// recovery, so the benchmark can count events missed while `recovered === true`.
import { setTimeout as sleep } from 'node:timers/promises'
import { io, type Socket } from 'socket.io-client'
import { WebSocket } from 'ws'
import { serve } from './ipc.ts'

export interface ReconnectorMember {
  url: string
  token: string
  room: string
}

export interface MemberTrace {
  room: string
  /** `message.id` of every `new_message`, in the order received. */
  ids: number[]
  /** Indexes into `ids` where a reconnect came back with `recovered === false`. */
  restarts: number[]
  recovered: number
  /** Reconnects refused (overload, node gone) before one got through. */
  refusedAttempts: number
}

interface Member {
  socket: Socket
  trace: MemberTrace
}

const groups = new Map<string, Member[]>()

function waitConnected (socket: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    const ok = () => { socket.off('connect_error', failed); resolve() }
    const failed = (error: Error) => { socket.off('connect', ok); reject(error) }
    socket.once('connect', ok)
    socket.once('connect_error', failed)
  })
}

async function connectOne (plan: ReconnectorMember): Promise<Member> {
  const socket = io(plan.url, { transports: ['websocket'], reconnection: false, forceNew: true, timeout: 20_000, auth: { token: plan.token } })
  const member: Member = { socket, trace: { room: plan.room, ids: [], restarts: [], recovered: 0, refusedAttempts: 0 } }
  await waitConnected(socket)
  const ack = await socket.timeout(20_000).emitWithAck('subscribe', { room: plan.room }) as { ok: boolean }
  if (!ack.ok) throw new Error(`subscribe ${plan.room} refused`)
  socket.on('new_message', (data: { message?: { id?: number } }) => {
    if (typeof data.message?.id === 'number') member.trace.ids.push(data.message.id)
  })
  return member
}

/** Connects again (to `url` when given: another node), retrying refusals; records the outcome. */
async function comeBack (member: Member, url?: string): Promise<void> {
  // The manager keeps its address; pointing it elsewhere is what a load balancer would do.
  if (url !== undefined) (member.socket.io as unknown as { uri: string }).uri = url
  for (;;) {
    const connected = waitConnected(member.socket)
    member.socket.connect()
    try {
      await connected
      break
    } catch {
      member.trace.refusedAttempts++
      await sleep(200)
    }
  }
  if (member.socket.recovered) member.trace.recovered++
  else {
    member.trace.restarts.push(member.trace.ids.length)
    // A fresh session: subscribe again, as the app would.
    await member.socket.timeout(20_000).emitWithAck('subscribe', { room: member.trace.room })
  }
}

/** Closes the transport under the socket and waits until the client has seen it. */
async function drop (member: Member): Promise<void> {
  const gone = new Promise((resolve) => member.socket.once('disconnect', resolve))
  member.socket.io.engine.close()
  await gone
}

async function connect ({ name, plan }: { name: string, plan: ReconnectorMember[] }): Promise<number> {
  const members: Member[] = []
  for (let i = 0; i < plan.length; i += 50) {
    members.push(...await Promise.all(plan.slice(i, i + 50).map(connectOne)))
  }
  groups.set(name, members)
  return members.length
}

/**
 * `drops` drops and reconnects in all, spread over the members side by side; reconnect `k`
 * of a member goes to `urls[k % urls.length]` (one URL: the same node).
 */
async function churn ({ name, drops, urls, pauseMs }: { name: string, drops: number, urls: string[], pauseMs: number }): Promise<number> {
  const members = groups.get(name) ?? []
  let left = drops
  let done = 0
  await Promise.all(members.map(async (member, index) => {
    let k = index
    while (left > 0) {
      left--
      await sleep(Math.random() * pauseMs)
      await drop(member)
      await comeBack(member, urls[++k % urls.length])
      done++
    }
  }))
  return done
}

/** After a node died: every member it served reconnects to `url`. */
async function failover ({ name, url }: { name: string, url: string }): Promise<number> {
  const members = groups.get(name) ?? []
  await Promise.all(members.map(async (member) => {
    if (member.socket.connected) {
      await new Promise((resolve) => member.socket.once('disconnect', resolve))
    }
    await comeBack(member, url)
  }))
  return members.length
}

/** From now on, each member that loses its connection comes back to the same node at once. */
function rejoin ({ name }: { name: string }): number {
  const members = groups.get(name) ?? []
  for (const member of members) {
    member.socket.on('disconnect', (reason) => {
      if (reason !== 'io client disconnect') comeBack(member).catch(() => {})
    })
  }
  return members.length
}

function report ({ name }: { name: string }): MemberTrace[] {
  return (groups.get(name) ?? []).map((member) => member.trace)
}

function disconnect ({ name }: { name: string }): number {
  const members = groups.get(name) ?? []
  for (const { socket } of members) socket.disconnect()
  groups.delete(name)
  return members.length
}

const stalled: WebSocket[] = []

/**
 * A reader that subscribes to `rooms`, then stops reading its socket (the server's writes
 * pile up); spoken over a raw WebSocket since socket.io's client cannot stop reading.
 * Resolves once it has stopped reading; the benchmark sees the cut in `/metrics`.
 */
async function stall ({ url, token, rooms }: { url: string, token: string, rooms: string[] }): Promise<boolean> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`)
  stalled.push(ws)
  let acks = 0
  await new Promise<void>((resolve, reject) => {
    ws.on('error', reject)
    ws.on('message', (data) => {
      const text = data.toString()
      if (text.startsWith('0')) ws.send(`40${JSON.stringify({ token })}`)
      else if (text.startsWith('40')) rooms.forEach((room, i) => ws.send(`42${i}${JSON.stringify(['subscribe', { room }])}`))
      else if (text.startsWith('43') && ++acks === rooms.length) resolve()
      else if (text === '2') ws.send('3')
      else if (text.startsWith('44')) reject(new Error(`refused: ${text}`))
    })
  })
  ;(ws as unknown as { _socket: { pause (): void } })._socket.pause()
  return true
}

serve({ connect, churn, failover, rejoin, report, disconnect, stall })
