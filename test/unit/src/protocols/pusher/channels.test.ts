// Pusher-protocol channels with pusher-js: public, private (private-encrypted- relayed as is) and
// presence, subscriptions checked against the app secret, what a refused one gets, and presence
// (one entry per user, member_added and member_removed).
import t from 'tap'
import { startBridge } from '../../../../helpers/bridge.ts'
import { pusherClient as pusherSdk, signedPost } from '../../../../helpers/pusher.ts'
import { app, connectPusher, dataOf, nextOnChannel, pusherEnv, rawPusher, recordChannel, subscribed } from '../../../../helpers/pusher-js.ts'
import { pusherChannelAuth } from '../../../../../src/protocols/echo/authorization/channel-auth-signature.ts'

t.setTimeout(120_000)

t.test('a public channel gets Pusher API events as pusher-js events, data a JSON string on the wire', async (t) => {
  const { url } = await startBridge(t, pusherEnv())
  const pusher = await connectPusher(t, url)
  const channel = await subscribed(pusher, 'orders')
  const raw = await rawPusher(t, url)
  await raw.next('pusher:connection_established')
  raw.send({ event: 'pusher:subscribe', data: { channel: 'orders', auth: '' } })
  t.equal((await raw.next('pusher_internal:subscription_succeeded')).channel, 'orders')

  const got = nextOnChannel(channel, 'OrderShipped')
  await pusherSdk(url).trigger('orders', 'OrderShipped', { order: { id: 7 } })
  t.same(await got, { order: { id: 7 } })
  const frame = await raw.next('OrderShipped')
  t.same(frame, { event: 'OrderShipped', channel: 'orders', data: '{"order":{"id":7}}' })
})

t.test('a private channel needs the app\'s signature; a bad one gets subscription_error 401 and nothing', async (t) => {
  const { url } = await startBridge(t, pusherEnv())
  const good = await connectPusher(t, url)
  const channel = await subscribed(good, 'private-chat.1')
  const forger = await connectPusher(t, url, { secret: 'not-the-app-secret' })
  const refused = await subscribed(forger, 'private-chat.1').then(() => undefined, (error: { data?: unknown }) => error.data)
  t.same(refused, { type: 'AuthError', error: String((refused as { error?: string }).error), status: 401 })
  t.match((refused as { error: string }).error, /signature/)
  const forgerSeen = recordChannel(forger.channel('private-chat.1'))

  const raw = await rawPusher(t, url)
  const socketId = String(dataOf(await raw.next('pusher:connection_established')).socket_id)
  raw.send({ event: 'pusher:subscribe', data: { channel: 'private-chat.1', auth: pusherChannelAuth(app, socketId, 'private-chat.2') } })
  const error = await raw.next('pusher:subscription_error')
  t.equal(error.channel, 'private-chat.1')
  t.equal(dataOf(error).status, 401, 'a signature for another channel is refused')
  raw.send({ event: 'pusher:subscribe', data: { channel: 'private-chat.1' } })
  t.equal(dataOf(await raw.next('pusher:subscription_error')).status, 401, 'no auth at all is refused')

  const got = nextOnChannel(channel, 'MessageSent')
  await pusherSdk(url).trigger('private-chat.1', 'MessageSent', { text: 'hi' })
  t.same(await got, { text: 'hi' })
  await pusherSdk(url).trigger('private-chat.1', 'Marker', {})
  t.same(raw.frames.filter((frame) => frame.event === 'MessageSent'), [], 'the refused raw socket got nothing')
  t.same(forgerSeen.filter(({ event }) => !event.startsWith('pusher')), [], 'the refused pusher-js got nothing')
})

t.test('private-encrypted- channels are subscribed like private ones and their events relayed as they are', async (t) => {
  const { url } = await startBridge(t, pusherEnv())
  const raw = await rawPusher(t, url)
  const socketId = String(dataOf(await raw.next('pusher:connection_established')).socket_id)
  const name = 'private-encrypted-vault.1'
  raw.send({ event: 'pusher:subscribe', data: { channel: name, auth: pusherChannelAuth(app, socketId, name) } })
  t.equal((await raw.next('pusher_internal:subscription_succeeded')).channel, name)
  const sealed = { nonce: 'bm9uY2U=', ciphertext: 'Y2lwaGVydGV4dA==' }
  // What the SDK with an encryptionMasterKey sends: the bridge never holds that key.
  const sent = await signedPost(url, '/events', JSON.stringify({ name: 'Sealed', channel: name, data: JSON.stringify(sealed) }))
  t.equal(sent.status, 200)
  t.same(JSON.parse(String((await raw.next('Sealed')).data)), sealed, 'nothing decrypted or changed')
})

t.test('presence: one entry per user, member_added and member_removed to the others', async (t) => {
  const { url } = await startBridge(t, pusherEnv())
  const ann = await connectPusher(t, url, { member: { user_id: 1, user_info: { name: 'Ann' } } })
  const annChannel = await subscribed(ann, 'presence-room.1')
  const added = nextOnChannel(annChannel, 'pusher:member_added')
  const bob = await connectPusher(t, url, { member: { user_id: 2, user_info: { name: 'Bob' } } })
  const bobTab2 = await connectPusher(t, url, { member: { user_id: 2, user_info: { name: 'Bob' } } })
  const bobChannel = await subscribed(bob, 'presence-room.1')
  await subscribed(bobTab2, 'presence-room.1')
  t.same(await added, { id: '2', info: { name: 'Bob' } }, 'Ann hears Bob once')

  const members = (bobChannel as unknown as { members: { count: number, each: (f: (m: { id: string, info: unknown }) => void) => void } }).members
  const listed: Array<{ id: string, info: unknown }> = []
  members.each((member) => listed.push(member))
  t.equal(members.count, 2, 'two users, three connections')
  t.same(listed.sort((a, b) => a.id.localeCompare(b.id)), [{ id: '1', info: { name: 'Ann' } }, { id: '2', info: { name: 'Bob' } }])

  const raw = await rawPusher(t, url)
  const socketId = String(dataOf(await raw.next('pusher:connection_established')).socket_id)
  const channelData = JSON.stringify({ user_id: 3 })
  raw.send({ event: 'pusher:subscribe', data: { channel: 'presence-room.1', auth: pusherChannelAuth(app, socketId, 'presence-room.1', channelData), channel_data: channelData } })
  const { presence } = dataOf(await raw.next('pusher_internal:subscription_succeeded')) as { presence: { ids: string[], hash: Record<string, unknown>, count: number } }
  t.same(presence.ids.sort(), ['1', '2', '3'])
  t.same(presence.hash, { 1: { name: 'Ann' }, 2: { name: 'Bob' }, 3: null })
  t.equal(presence.count, 3)

  const removed = nextOnChannel(annChannel, 'pusher:member_removed')
  bob.unsubscribe('presence-room.1')
  bobTab2.disconnect()
  t.same(await removed, { id: '2', info: { name: 'Bob' } }, 'Bob leaves once his last connection has')
  const tampered = JSON.stringify({ user_id: 1 })
  raw.send({ event: 'pusher:subscribe', data: { channel: 'presence-room.2', auth: pusherChannelAuth(app, socketId, 'presence-room.2', channelData), channel_data: tampered } })
  t.equal(dataOf(await raw.next('pusher:subscription_error')).status, 401, 'channel_data is signed: another user id is refused')
})
