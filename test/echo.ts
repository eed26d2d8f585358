// Laravel Echo (the `laravel-echo` npm package, socket.io connector, socket.io-client v4) as a
// frontend uses it, against a test bridge; and a wait for its subscriptions, which Echo's
// socket.io connector does not announce, through the Pusher read side.
import { io } from 'socket.io-client'
import type { Test } from 'tap'
import type Pusher from 'pusher'
import { waitFor } from './helper.ts'

type EchoModule = typeof import('laravel-echo')
export type EchoClient = InstanceType<EchoModule['default']>

// `require()` gets an empty module: laravel-echo's CommonJS entry is written as ESM.
const { default: Echo } = await import('laravel-echo') as EchoModule

/** An Echo connected to the bridge at `url`; with `token`, its handshake carries `Authorization: Bearer`. */
export async function connectEcho (t: Test, url: string, token?: string): Promise<EchoClient> {
  const echo = new Echo({
    broadcaster: 'socket.io',
    client: io,
    host: url,
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    // Echo mutates a shared default headers object: each instance gets its own.
    auth: { headers: token === undefined ? {} : { Authorization: `Bearer ${token}` } }
  } as ConstructorParameters<EchoModule['default']>[0])
  t.teardown(() => { echo.disconnect() })
  const socket = (echo.connector as unknown as { socket: { connected: boolean, once: (event: string, listener: (arg?: unknown) => void) => void } }).socket
  if (!socket.connected) {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve())
      socket.once('connect_error', (error) => reject(error instanceof Error ? error : new Error(String(error))))
    })
  }
  return echo
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
