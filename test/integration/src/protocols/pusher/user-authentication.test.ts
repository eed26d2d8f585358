// User authentication on the Pusher protocol: pusher-js's signin(), the user's own
// #server-to-user-<id> channel reached by the SDK's sendToUser, presence joins without
// channel_data, and terminate_connections closing that user's connections with 4009.
// In the integration tier: after terminate_connections, pusher-js holds the test process about 30 s.
import t from 'tap'
import { startBridge, waitFor } from '../../../../helpers/bridge.ts'
import { pusherClient as pusherSdk } from '../../../../helpers/pusher.ts'
import { app, connectPusher, dataOf, nextOnChannel, pusherEnv, rawPusher, subscribed, type Pusher } from '../../../../helpers/pusher-js.ts'

t.setTimeout(120_000)

async function signedIn (pusher: Pusher): Promise<void> {
  pusher.signin()
  await waitFor(() => (pusher.user as unknown as { user_data: unknown }).user_data != null, 'pusher-js signed in', 5000)
}

t.test('signin(): signin_success with the user_data sent, and sendToUser reaches only that user', async (t) => {
  const { url } = await startBridge(t, pusherEnv())
  const ann = await connectPusher(t, url, { user: { id: 'ann', user_info: { name: 'Ann' } } })
  const annTab2 = await connectPusher(t, url, { user: { id: 'ann' } })
  const bob = await connectPusher(t, url, { user: { id: 'bob' } })
  await Promise.all([signedIn(ann), signedIn(annTab2), signedIn(bob)])
  t.same((ann.user as unknown as { user_data: unknown }).user_data, { id: 'ann', user_info: { name: 'Ann' } })

  const got = [ann, annTab2].map((client) => new Promise((resolve) => client.user.bind('Notice', resolve)))
  let bobGot = 0
  bob.user.bind('Notice', () => { bobGot += 1 })
  await pusherSdk(url).sendToUser('ann', 'Notice', { text: 'for Ann' })
  t.same(await Promise.all(got), [{ text: 'for Ann' }, { text: 'for Ann' }], 'both of Ann\'s connections')
  const marker = new Promise((resolve) => bob.user.bind('Marker', resolve))
  await pusherSdk(url).sendToUser('bob', 'Marker', {})
  await marker
  t.equal(bobGot, 0, 'Bob got nothing of Ann\'s')
})

t.test('a bad sign-in is refused, and #server-to-user- channels of others cannot be subscribed', async (t) => {
  const { url } = await startBridge(t, pusherEnv())
  const raw = await rawPusher(t, url)
  await raw.next('pusher:connection_established')
  raw.send({ event: 'pusher:signin', data: { auth: `${app.key}:00`, user_data: '{"id":"ann"}' } })
  t.match((await raw.next('pusher:error')).data, { message: /Invalid signature/ })
  raw.send({ event: 'pusher:subscribe', data: { channel: '#server-to-user-ann', auth: '' } })
  t.equal(dataOf(await raw.next('pusher:subscription_error')).status, 401)
})

t.test('a signed-in connection joins a presence channel without channel_data, as its user', async (t) => {
  const { url } = await startBridge(t, pusherEnv())
  const ann = await connectPusher(t, url, { user: { id: 'ann', user_info: { name: 'Ann' } }, member: null })
  await signedIn(ann)
  const bob = await connectPusher(t, url, { member: { user_id: 'bob' } })
  const bobChannel = await subscribed(bob, 'presence-room.1')
  const added = nextOnChannel(bobChannel, 'pusher:member_added')
  await subscribed(ann, 'presence-room.1')
  t.same(await added, { id: 'ann', info: { name: 'Ann' } })
})

t.test('terminate_connections closes the user\'s connections with 4009, and only theirs', async (t) => {
  const { url } = await startBridge(t, pusherEnv())
  const ann = await connectPusher(t, url, { user: { id: 'ann' } })
  const bob = await connectPusher(t, url, { user: { id: 'bob' } })
  await Promise.all([signedIn(ann), signedIn(bob)])
  const closed = new Promise((resolve) => ann.connection.bind('error', resolve))
  await pusherSdk(url).terminateUserConnections('ann')
  t.match(await closed, { data: { code: 4009 } }, 'pusher-js saw close code 4009')
  await waitFor(() => ann.connection.state !== 'connected', 'Ann disconnected', 5000)
  await new Promise((resolve) => setTimeout(resolve, 500))
  t.not(ann.connection.state, 'connected', 'and does not reconnect by itself')
  t.equal(bob.connection.state, 'connected', 'Bob stays')
})
