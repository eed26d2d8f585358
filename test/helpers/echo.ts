// Laravel Echo (the npm package, its ESM build) with socket.io-client in Node, for the tests
// of the bridge's Echo side: a connected Echo, waiting for what the bridge answers, and a wait
// for subscriptions, which Echo's socket.io connector does not announce, through the Pusher
// read side.
import type EchoClass from 'laravel-echo'
import type Pusher from 'pusher'
import type { Test } from 'tap'
import { io, type Socket } from 'socket.io-client'
import { postJson, signedHeaders, waitFor } from './bridge.ts'

// Echo's ESM build; its CommonJS entry is not CommonJS (see TOOLCHAIN), so no `require`.
const { default: Echo } = await import('laravel-echo')

export type EchoClient = EchoClass<'socket.io'>

export interface EchoOptions {
  /** Echo's `bearerToken`: becomes `auth.headers.Authorization` of the handshake and of subscriptions. */
  bearerToken?: string
  csrfToken?: string
  /** Extra socket.io handshake `auth` fields (Echo passes its options to `io()`). */
  extraHeaders?: Record<string, string>
  /** socket.io-client's reconnection (off unless a test drops connections). */
  reconnection?: boolean
  /** Any other option Echo passes to `io()`. */
  socketOptions?: Record<string, unknown>
}

/** A connected Echo on the bridge at `url` (websocket), disconnected when the test ends. */
export async function connectEcho (t: Test, url: string, options: EchoOptions = {}): Promise<EchoClient> {
  const echo = new Echo({
    broadcaster: 'socket.io',
    client: io,
    host: url,
    transports: ['websocket'],
    forceNew: true,
    reconnection: options.reconnection ?? false,
    // Each instance its own: Echo writes tokens into a default object all instances share.
    auth: { headers: {} },
    ...(options.bearerToken === undefined ? {} : { bearerToken: options.bearerToken }),
    ...(options.csrfToken === undefined ? {} : { csrfToken: options.csrfToken }),
    ...(options.extraHeaders === undefined ? {} : { extraHeaders: options.extraHeaders }),
    ...options.socketOptions
  } as ConstructorParameters<typeof EchoClass<'socket.io'>>[0]) as EchoClient
  t.teardown(() => { echo.disconnect() })
  const socket = echo.connector.socket as Socket
  recordAnswers(socket)
  await new Promise<void>((resolve, reject) => {
    if (socket.connected) return resolve()
    socket.once('connect', () => resolve())
    socket.once('connect_error', reject)
  })
  return echo
}

/** The socket.io socket under an Echo instance. */
export function socketOf (echo: EchoClient): Socket {
  return echo.connector.socket as Socket
}

/** Subscription answers not yet taken by `answerTo`, per socket, in arrival order. */
const answers = new WeakMap<Socket, Array<{ channel: string, answer: 'ok' | number }>>()
const arrived = new WeakMap<Socket, Set<() => void>>()

/** Records the bridge's answers to subscriptions from now on, so none is missed. */
function recordAnswers (socket: Socket): void {
  const list: Array<{ channel: string, answer: 'ok' | number }> = []
  answers.set(socket, list)
  const waiters = new Set<() => void>()
  arrived.set(socket, waiters)
  const notify = () => { for (const waiter of [...waiters]) waiter() }
  socket.on('subscription_succeeded', (channel: string) => { list.push({ channel, answer: 'ok' }); notify() })
  socket.on('subscription_error', (channel: string, status: number) => { list.push({ channel, answer: status }); notify() })
}

/** The bridge's next answer to a subscription to `channel`: 'ok', or the subscription_error status. */
export function answerTo (echo: EchoClient, channel: string, ms = 10_000): Promise<'ok' | number> {
  const socket = socketOf(echo)
  const list = answers.get(socket) ?? []
  return new Promise((resolve, reject) => {
    const take = (): boolean => {
      const index = list.findIndex((entry) => entry.channel === channel)
      if (index === -1) return false
      const [entry] = list.splice(index, 1)
      resolve((entry as { answer: 'ok' | number }).answer)
      return true
    }
    if (take()) return
    const waiters = arrived.get(socket) ?? new Set()
    const timer = setTimeout(() => { waiters.delete(waiter); reject(new Error(`no answer to the subscription of ${channel} within ${ms} ms`)) }, ms)
    function waiter () {
      if (!take()) return
      clearTimeout(timer)
      waiters.delete(waiter)
    }
    waiters.add(waiter)
  })
}

/** Resolves with the arguments of the next `event` the socket receives for `channel`. */
export function nextOn (echo: EchoClient, event: string, channel: string, ms = 10_000): Promise<unknown> {
  const socket = socketOf(echo)
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { socket.off(event, listener); reject(new Error(`no ${event} on ${channel} within ${ms} ms`)) }, ms)
    function listener (name: unknown, data: unknown) {
      if (name !== channel) return
      clearTimeout(timer)
      socket.off(event, listener)
      resolve(data)
    }
    socket.on(event, listener)
  })
}

/**
 * Every event the socket receives, in order, as `{ event, args }` with the event's first two
 * arguments (channel and data); a third is socket.io's recovery offset, which Echo ignores.
 */
export function recordAll (echo: EchoClient): Array<{ event: string, args: unknown[] }> {
  const received: Array<{ event: string, args: unknown[] }> = []
  socketOf(echo).onAny((event: string, ...args: unknown[]) => { received.push({ event, args: args.slice(0, 2) }) })
  return received
}

/** Emits raw arguments, the way a buggy or hostile client could. */
export function emitRaw (echo: EchoClient, event: string, ...args: unknown[]): void {
  (socketOf(echo).emit as (event: string, ...args: unknown[]) => void)(event, ...args)
}

/** Publishes a new_message to a bridge with every secret set (securedEnv), signed as Laravel would. */
export function publishSigned (url: string, body: Record<string, unknown>) {
  return postJson(url, '/api/sms/new-message', body, signedHeaders(JSON.stringify(body)))
}

/** Resolves once `channel` has `count` subscribed sockets across the cluster (asked with Pusher's read side). */
export async function untilSubscribed (pusher: Pusher, channel: string, count: number): Promise<void> {
  await waitFor(async () => {
    const response = await pusher.get({ path: `/channels/${channel}`, params: { info: 'subscription_count' } })
    const { subscription_count: subscribers } = await response.json() as { subscription_count: number }
    return subscribers === count
  }, `${count} subscriber(s) of ${channel}`)
}

/** Resolves with the data of the next `event` Echo delivers on `channel` (a channel object of Echo). */
export function nextEchoEvent (channel: { listen: (event: string, callback: (data: unknown) => void) => unknown, stopListening: (event: string) => unknown }, event: string, ms = 10_000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      channel.stopListening(event)
      reject(new Error(`Echo got no ${event} within ${ms} ms`))
    }, ms)
    channel.listen(event, (data: unknown) => {
      clearTimeout(timer)
      channel.stopListening(event)
      resolve(data)
    })
  })
}
