// The crowd's Pusher-protocol side: a raw `ws` client speaking what pusher-js speaks on
// `/app/{key}` (protocol 7), subscribing `private-<room>` with the signature Laravel's
// `/broadcasting/auth` would give it, counting `new_message` events as the socket.io members do.
import { createHmac } from 'node:crypto'
import { WebSocket } from 'ws'

export interface PusherCredentials {
  key: string
  secret: string
}

export interface PusherMember {
  close: () => void
}

/** Connects to `url`'s `/app/{key}`, subscribes each room's private channel, calls `onEvent` with each event's parsed data. */
export async function connectPusher (url: string, app: PusherCredentials, rooms: string[], onEvent: (data: { message?: { sentAt?: number } }) => void): Promise<PusherMember> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/app/${app.key}?protocol=7&client=js&version=8.4.0&flash=false`)
  const pending = new Map<string, { resolve: () => void, reject: (error: Error) => void }>()
  let established: ((socketId: string) => void) | undefined
  const socketId = new Promise<string>((resolve, reject) => {
    established = resolve
    const timer = setTimeout(() => reject(new Error('no pusher:connection_established within 60 s')), 60_000)
    ws.once('error', (error) => { clearTimeout(timer); reject(error) })
    ws.once('close', (code) => { clearTimeout(timer); reject(new Error(`closed with ${code} before connection_established`)) })
  })
  ws.on('message', (raw) => {
    const frame = JSON.parse(String(raw)) as { event: string, channel?: string, data?: string }
    if (frame.event === 'new_message') return onEvent(JSON.parse(frame.data ?? '{}'))
    if (frame.event === 'pusher:connection_established') return established?.(JSON.parse(frame.data ?? '{}').socket_id)
    // Pusher answers a ping; pusher-js would too, so the bridge never closes an idle member.
    if (frame.event === 'pusher:ping') return ws.send('{"event":"pusher:pong","data":{}}')
    const waiter = pending.get(frame.channel ?? '')
    if (frame.event === 'pusher_internal:subscription_succeeded') waiter?.resolve()
    if (frame.event === 'pusher:subscription_error') waiter?.reject(new Error(`subscription of ${frame.channel} refused: ${frame.data}`))
  })
  const id = await socketId
  for (const room of rooms) {
    const channel = `private-${room}`
    const auth = `${app.key}:${createHmac('sha256', app.secret).update(`${id}:${channel}`).digest('hex')}`
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer to the subscription of ${channel} within 60 s`)), 60_000)
      pending.set(channel, { resolve: () => { clearTimeout(timer); resolve() }, reject: (error) => { clearTimeout(timer); reject(error) } })
      ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel, auth } }))
    })
    pending.delete(channel)
  }
  return { close: () => ws.close() }
}
