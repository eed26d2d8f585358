// pusher-js (the real client, its Node build) against a test bridge speaking the Pusher protocol
// at `/app/{key}`, with channel authorization signed as Laravel's `/broadcasting/auth` signs it;
// and a raw WebSocket (`ws`) for what pusher-js would never send.
import { createHmac } from 'node:crypto'
import pusherJs from 'pusher-js'
import type { Channel, ChannelAuthorizationCallback, UserAuthenticationCallback } from 'pusher-js'
import type { Test } from 'tap'
import { WebSocket } from 'ws'
import { pusherChannelAuth } from '../../src/protocols/echo/authorization/channel-auth-signature.ts'
import type { Env } from '../../src/config/index.ts'
import { securedEnv } from './bridge.ts'
import { pusherApp as app, pusherEnv as pusherAppEnv } from './pusher.ts'

export { app }

type PusherClass = typeof pusherJs.default
export type Pusher = InstanceType<PusherClass>
// Its Node build is CommonJS whose module.exports is the class; its types call it `default`.
export const PusherJs = pusherJs as unknown as PusherClass

/** A secured bridge with the Pusher app configured (the protocol and the HTTP API). */
export function pusherEnv (overrides: Env = {}): Env {
  return securedEnv(pusherAppEnv(overrides))
}

export interface PusherClientOptions {
  key?: string
  /** Signs with this secret instead of the app's (a forged answer of `/broadcasting/auth`). */
  secret?: string
  /** The presence member this client's `/broadcasting/auth` answers with; null: no channel_data (a signed-in user). */
  member?: { user_id: string | number, user_info?: unknown } | null
  /** What `/broadcasting/user-auth` signs for `signin()`. */
  user?: { id: string, user_info?: unknown }
}

/** A pusher-js client on the bridge at `url` (ws only, no stats), disconnected when the test ends. */
export function pusherClient (t: Test, url: string, options: PusherClientOptions = {}): Pusher {
  const { port, hostname } = new URL(url)
  const signing = { ...app, secret: options.secret ?? app.secret }
  const pusher = new PusherJs(options.key ?? app.key, {
    cluster: 'bridge',
    wsHost: hostname,
    wsPort: Number(port),
    forceTLS: false,
    enabledTransports: ['ws'],
    disableStats: true,
    channelAuthorization: {
      customHandler ({ socketId, channelName }: { socketId: string, channelName: string }, callback: ChannelAuthorizationCallback) {
        const channelData = channelName.startsWith('presence-') && options.member !== null ? JSON.stringify(options.member ?? { user_id: 1 }) : undefined
        callback(null, { auth: pusherChannelAuth(signing, socketId, channelName, channelData), ...(channelData !== undefined && { channel_data: channelData }) })
      }
    },
    userAuthentication: {
      customHandler ({ socketId }: { socketId: string }, callback: UserAuthenticationCallback) {
        const userData = JSON.stringify(options.user ?? { id: '1' })
        const signature = createHmac('sha256', signing.secret).update(`${socketId}::user::${userData}`).digest('hex')
        callback(null, { auth: `${signing.key}:${signature}`, user_data: userData })
      }
    }
  })
  t.teardown(() => { pusher.disconnect() })
  return pusher
}

/** A connected pusher-js client; resolves with it once the bridge gave it a socket id. */
export async function connectPusher (t: Test, url: string, options: PusherClientOptions = {}): Promise<Pusher> {
  const pusher = pusherClient(t, url, options)
  await new Promise<void>((resolve, reject) => {
    pusher.connection.bind('connected', () => resolve())
    pusher.connection.bind('failed', () => reject(new Error('pusher-js failed to connect')))
    pusher.connection.bind('error', (error: unknown) => reject(new Error(`pusher-js error: ${JSON.stringify(error)}`)))
  })
  return pusher
}

/** Subscribes and resolves with the channel once the bridge confirmed; rejects with the subscription_error. */
export async function subscribed (pusher: Pusher, name: string, ms = 5000): Promise<Channel> {
  const channel = pusher.subscribe(name)
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer to the subscription of ${name} within ${ms} ms`)), ms)
    channel.bind('pusher:subscription_succeeded', () => { clearTimeout(timer); resolve() })
    channel.bind('pusher:subscription_error', (error: unknown) => { clearTimeout(timer); reject(Object.assign(new Error('subscription_error'), { data: error })) })
  })
  return channel
}

/** The next `event` on the channel (its data as pusher-js parsed it); rejects after `ms`. */
export function nextOnChannel (channel: Channel, event: string, ms = 5000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { channel.unbind(event, listener); reject(new Error(`no ${event} on ${channel.name} within ${ms} ms`)) }, ms)
    function listener (data: unknown): void {
      clearTimeout(timer)
      channel.unbind(event, listener)
      resolve(data)
    }
    channel.bind(event, listener)
  })
}

/** Everything a channel receives, in order. */
export function recordChannel (channel: Channel): Array<{ event: string, data: unknown }> {
  const seen: Array<{ event: string, data: unknown }> = []
  channel.bind_global((event: string, data: unknown) => { seen.push({ event, data }) })
  return seen
}

/** A raw WebSocket on `/app/{key}`: its frames parsed, and its close. */
export async function rawPusher (t: Test, url: string, { key = app.key, query = '?protocol=7&client=js&version=8.4.0', headers = {} }: { key?: string, query?: string, headers?: Record<string, string> } = {}) {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/app/${key}${query}`, { headers })
  t.teardown(() => { ws.terminate() })
  const frames: Array<{ event: string, channel?: string, data: unknown }> = []
  const waiters = new Set<() => void>()
  ws.on('message', (data) => {
    frames.push(JSON.parse(String(data)))
    for (const waiter of [...waiters]) waiter()
  })
  const closed = new Promise<{ code: number, reason: string }>((resolve) => {
    ws.on('close', (code, reason) => { resolve({ code, reason: String(reason) }); for (const waiter of [...waiters]) waiter() })
  })
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })
  /** Resolves with the first frame (received or to come) matching, taking it off the list. */
  function next (event: string, ms = 5000): Promise<{ event: string, channel?: string, data: unknown }> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const index = frames.findIndex((frame) => frame.event === event)
        if (index === -1) {
          if (ws.readyState === WebSocket.CLOSED) { waiters.delete(check); clearTimeout(timer); reject(new Error(`closed before ${event}`)) }
          return
        }
        waiters.delete(check)
        clearTimeout(timer)
        resolve(frames.splice(index, 1)[0] as { event: string, channel?: string, data: unknown })
      }
      const timer = setTimeout(() => { waiters.delete(check); reject(new Error(`no ${event} within ${ms} ms`)) }, ms)
      waiters.add(check)
      check()
    })
  }
  const send = (frame: unknown) => { ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame)) }
  return { ws, frames, next, send, closed, opened }
}

/** Parses a server frame's `data`, a JSON string. */
export function dataOf (frame: { data: unknown }): Record<string, unknown> {
  return typeof frame.data === 'string' ? JSON.parse(frame.data) : frame.data as Record<string, unknown>
}
