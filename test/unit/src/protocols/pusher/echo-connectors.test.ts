// Laravel Echo with its `reverb` and `pusher` connectors (pusher-js underneath), as
// `php artisan install:broadcasting` sets it up in Laravel 11+, against the bridge: listen on
// private channels, presence here/joining/leaving, whispers to Echo on socket.io, toOthers().
import t, { type Test } from 'tap'
import { socketToken, startBridge } from '../../../../helpers/bridge.ts'
import { answerTo, connectEcho as connectSocketIoEcho, nextOn } from '../../../../helpers/echo.ts'
import { pusherClient as pusherSdk } from '../../../../helpers/pusher.ts'
import { app, pusherEnv, PusherJs } from '../../../../helpers/pusher-js.ts'
import { pusherChannelAuth } from '../../../../../src/protocols/echo/authorization/channel-auth-signature.ts'

t.setTimeout(120_000)

const { default: Echo } = await import('laravel-echo')

type Broadcaster = 'reverb' | 'pusher'
type PusherEcho = InstanceType<typeof Echo<Broadcaster>>

/** Echo as resources/js/echo.js has it, VITE_REVERB_* pointing at the bridge; `/broadcasting/auth` answered as Laravel would for `member`. */
async function connectEcho (t: Test, url: string, broadcaster: Broadcaster, member: { user_id: string, user_info?: unknown }): Promise<PusherEcho> {
  const { hostname, port } = new URL(url)
  const echo = new Echo({
    broadcaster,
    key: app.key,
    cluster: 'bridge',
    wsHost: hostname,
    wsPort: Number(port),
    wssPort: Number(port),
    forceTLS: false,
    enabledTransports: ['ws'],
    disableStats: true,
    Pusher: PusherJs,
    channelAuthorization: {
      customHandler ({ socketId, channelName }: { socketId: string, channelName: string }, callback: (error: Error | null, data: { auth: string, channel_data?: string }) => void) {
        const channelData = channelName.startsWith('presence-') ? JSON.stringify(member) : undefined
        callback(null, { auth: pusherChannelAuth(app, socketId, channelName, channelData), ...(channelData !== undefined && { channel_data: channelData }) })
      }
    }
  } as never) as PusherEcho
  t.teardown(() => { echo.disconnect() })
  await new Promise<void>((resolve) => {
    const connection = (echo.connector as unknown as { pusher: InstanceType<typeof PusherJs> }).pusher.connection
    if (connection.state === 'connected') return resolve()
    connection.bind('connected', () => resolve())
  })
  return echo
}

for (const broadcaster of ['reverb', 'pusher'] as const) {
  t.test(`Echo's ${broadcaster} connector: private listen, presence, whispers with socket.io Echo, toOthers()`, async (t) => {
    const { url } = await startBridge(t, pusherEnv())
    const ann = await connectEcho(t, url, broadcaster, { user_id: '1', user_info: { name: 'Ann' } })
    const shipped = new Promise((resolve) => ann.private('orders.1').listen('.OrderShipped', resolve))
    await new Promise((resolve) => ann.private('orders.1').subscribed(resolve))
    await pusherSdk(url).trigger('private-orders.1', 'OrderShipped', { id: 1 })
    t.same(await shipped, { id: 1 }, 'listen(\'.OrderShipped\') gets the data')

    const here = new Promise<unknown[]>((resolve) => ann.join('room.1').here(resolve))
    t.same(await here, [{ name: 'Ann' }])
    const joining = new Promise((resolve) => ann.join('room.1').joining(resolve))
    const bob = await connectSocketIoEcho(t, url, { bearerToken: socketToken({ sub: '2', user_info: { name: 'Bob' }, rooms: ['presence-room.*', 'private-orders.*'] }) })
    bob.join('room.1')
    t.equal(await answerTo(bob, 'presence-room.1'), 'ok')
    t.same(await joining, { name: 'Bob' }, 'a socket.io Echo user joins the pusher-js Echo\'s list')

    const whisper = nextOn(bob, 'client-typing', 'presence-room.1')
    ann.join('room.1').whisper('typing', { name: 'Ann' })
    t.same(await whisper, { name: 'Ann' }, 'whisper: pusher-js Echo → socket.io Echo')
    const back = new Promise((resolve) => ann.join('room.1').listenForWhisper('typing', resolve))
    bob.join('room.1').whisper('typing', { name: 'Bob' })
    t.same(await back, { name: 'Bob' }, 'whisper: socket.io Echo → pusher-js Echo')

    const events: string[] = []
    ann.private('orders.1').listen('.Skipped', () => events.push('Skipped')).listen('.Marker', () => events.push('Marker'))
    const marker = new Promise((resolve) => ann.private('orders.1').listen('.Marker', resolve))
    t.match(ann.socketId(), /^\d+\.\d+$/)
    await pusherSdk(url).trigger('private-orders.1', 'Skipped', {}, { socket_id: ann.socketId() })
    await pusherSdk(url).trigger('private-orders.1', 'Marker', {})
    await marker
    t.same(events, ['Marker'], 'toOthers() with Echo\'s socketId() leaves it out')

    const leaving = new Promise((resolve) => ann.join('room.1').leaving(resolve))
    bob.leave('room.1')
    t.same(await leaving, { name: 'Bob' })
  })
}
