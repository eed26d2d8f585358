// The Pusher HTTP API's read side with the official SDK's `get`: occupied channels, one
// channel's state, presence members, in Pusher's shapes. Section 3's room R is the channel
// private-R, counted with Echo's subscribers of it.
import t from 'tap'
import { connectClient, startBridge, subscribe, unsubscribe } from '../../../helpers/bridge.ts'
import { answerTo, connectEcho } from '../../../helpers/echo.ts'
import { pusherClient, pusherEnv } from '../../../helpers/pusher.ts'

// Several bridges, Redis servers or PHP runs: more than the default 60 s on a machine busy with other suites.
t.setTimeout(180_000)

/** The SDK's get; its RequestError (thrown for 4xx) as the status and body it carries. */
async function get (pusher: ReturnType<typeof pusherClient>, path: string, params: Record<string, string> = {}) {
  try {
    const response = await pusher.get({ path, params })
    return { status: response.status, body: await response.json() as unknown }
  } catch (error) {
    const { status, body } = error as { status?: number, body?: string }
    if (status === undefined) throw error
    return { status, body: JSON.parse(body ?? '') as unknown }
  }
}

t.test('GET /channels lists the occupied channels, filtered by prefix, with subscription_count when asked', async (t) => {
  const { url } = await startBridge(t, pusherEnv())
  const pusher = pusherClient(url)
  t.same(await get(pusher, '/channels'), { status: 200, body: { channels: {} } }, 'nobody anywhere')

  const [a, b] = await Promise.all([connectClient(t, url), connectClient(t, url)])
  await subscribe(a, 'orders.1')
  await subscribe(b, 'orders.1')
  await subscribe(b, 'chat.9')
  t.same(await get(pusher, '/channels'), { status: 200, body: { channels: { 'private-orders.1': {}, 'private-chat.9': {} } } },
    'room R is listed as private-R')
  t.same(await get(pusher, '/channels', { filter_by_prefix: 'private-orders.' }), { status: 200, body: { channels: { 'private-orders.1': {} } } })
  t.same(await get(pusher, '/channels', { filter_by_prefix: 'orders.' }), { status: 200, body: { channels: {} } }, 'no public channel of that name')
  t.same(await get(pusher, '/channels', { info: 'subscription_count' }),
    { status: 200, body: { channels: { 'private-orders.1': { subscription_count: 2 }, 'private-chat.9': { subscription_count: 1 } } } })
  t.same(await get(pusher, '/channels', { filter_by_prefix: 'presence-', info: 'user_count' }), { status: 200, body: { channels: {} } })

  // Echo's private-orders.1 is the same channel; its public orders.1 another.
  const echo = await connectEcho(t, url)
  echo.private('orders.1')
  echo.channel('orders.1')
  t.equal(await answerTo(echo, 'private-orders.1'), 'ok')
  t.equal(await answerTo(echo, 'orders.1'), 'ok')
  t.same(await get(pusher, '/channels', { filter_by_prefix: 'private-orders.', info: 'subscription_count' }),
    { status: 200, body: { channels: { 'private-orders.1': { subscription_count: 3 } } } }, 'two room subscribers and an Echo one')
  t.same(await get(pusher, '/channels', { filter_by_prefix: 'orders.', info: 'subscription_count' }),
    { status: 200, body: { channels: { 'orders.1': { subscription_count: 1 } } } })

  await unsubscribe(b, 'chat.9')
  t.same(await get(pusher, '/channels', { filter_by_prefix: 'private-chat.' }), { status: 200, body: { channels: {} } }, 'an emptied channel is gone')
})

t.test('GET /channels/:channel answers occupied, and the counts asked for', async (t) => {
  const { url } = await startBridge(t, pusherEnv())
  const pusher = pusherClient(url)
  t.same(await get(pusher, '/channels/private-orders.1'), { status: 200, body: { occupied: false } })
  const client = await connectClient(t, url)
  await subscribe(client, 'orders.1')
  t.same(await get(pusher, '/channels/private-orders.1'), { status: 200, body: { occupied: true } }, 'room R is occupied as private-R')
  t.same(await get(pusher, '/channels/private-orders.1', { info: 'subscription_count' }), { status: 200, body: { occupied: true, subscription_count: 1 } })
  t.same(await get(pusher, '/channels/orders.1'), { status: 200, body: { occupied: false } }, 'the public channel R is another')
  t.same(await get(pusher, '/channels/presence-room.1', { info: 'user_count,subscription_count' }),
    { status: 200, body: { occupied: false, subscription_count: 0, user_count: 0 } })
})

t.test('GET /channels/:channel/users lists a presence channel\'s members; other channels have none (400)', async (t) => {
  const { url } = await startBridge(t, pusherEnv())
  const pusher = pusherClient(url)
  t.same(await get(pusher, '/channels/presence-room.1/users'), { status: 200, body: { users: [] } })
  const refused = await get(pusher, '/channels/orders.1/users')
  t.equal(refused.status, 400)
  t.match(refused.body, { error: /presence/ })
})
