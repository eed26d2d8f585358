// A short disconnect with Echo: socket.io recovers the session (same id, channels, missed
// events), Echo subscribes to every channel again, and that changes nothing: Laravel is not
// asked again, no event arrives twice, presence is not announced twice, whispers still work.
import t, { type Test } from 'tap'
import { securedEnv, startBridge } from '../../../../helpers/bridge.ts'
import { dropConnection } from '../../../../helpers/recovery.ts'
import { answerTo, connectEcho, nextOn, publishSigned, recordAll, socketOf, type EchoClient } from '../../../../helpers/echo.ts'
import { fakeLaravel } from '../../../../helpers/fake-laravel.ts'
import type { TestClient } from '../../../../helpers/bridge.ts'
import { pusherEnv, signedPost } from '../../../../helpers/pusher.ts'

// Many real bridges and Echo clients (loading Echo itself first): generous on a busy machine.
t.setTimeout(180_000)

const users: Record<string, { user_id: number, user_info: { name: string } }> = {
  'laravel_session=ann': { user_id: 1, user_info: { name: 'Ann' } },
  'laravel_session=bob': { user_id: 2, user_info: { name: 'Bob' } }
}

async function bridgeWithLaravel (t: Test) {
  const laravel = await fakeLaravel(t)
  laravel.answer = ({ form, headers }) => {
    const user = users[String(headers.cookie)]
    if (user === undefined) return { status: 403, body: '' }
    return form.channel_name?.startsWith('presence-') === true
      ? { status: 200, body: JSON.stringify({ channel_data: user }) }
      : { status: 200, body: 'true' }
  }
  const bridge = await startBridge(t, securedEnv(pusherEnv({ BRIDGE_AUTH_ENDPOINT: laravel.url })))
  return { ...bridge, laravel }
}

/** An event for the public channel chat_1: Laravel's broadcasters reach it (the HTTP API reaches private ones). */
async function publishPublic (url: string, message: unknown): Promise<void> {
  await signedPost(url, '/events', JSON.stringify({ name: 'new_message', channel: 'chat_1', data: JSON.stringify({ message }) }))
}

/** An Echo that reconnects by itself at once, as a browser's would after a network blip. */
function reconnecting (cookie: string) {
  return { extraHeaders: { cookie }, reconnection: true, socketOptions: { reconnectionDelay: 20, reconnectionDelayMax: 50 } }
}

/** Resolves once Echo's socket.io reconnected by itself (Echo subscribes again then) and is connected. */
function reconnection (echo: EchoClient): Promise<unknown> {
  const socket = socketOf(echo)
  return Promise.all([
    new Promise((resolve) => socket.io.once('reconnect', resolve)),
    new Promise((resolve) => socket.once('connect', () => resolve(undefined)))
  ])
}

async function subscribeAll (echo: EchoClient): Promise<void> {
  echo.channel('chat_1')
  echo.private('chat.1')
  echo.join('room.1')
  for (const channel of ['chat_1', 'private-chat.1', 'presence-room.1']) {
    if (await answerTo(echo, channel) !== 'ok') throw new Error(`${channel} refused`)
  }
}

t.test('Echo re-subscribing after a recovered disconnect: no second authorization, no event twice', async (t) => {
  const { fastify, url, laravel } = await bridgeWithLaravel(t)
  const ann = await connectEcho(t, url, reconnecting('laravel_session=ann'))
  await subscribeAll(ann)
  const id = socketOf(ann).id
  const asked = laravel.requests.length
  t.equal(asked, 2, 'Laravel was asked about the private and the presence channel')
  const first = nextOn(ann, 'new_message', 'chat_1')
  await publishPublic(url, { n: 0 })
  await first
  const seen = recordAll(ann)

  const reconnected = reconnection(ann)
  await dropConnection(socketOf(ann) as unknown as TestClient, fastify)
  await publishPublic(url, { n: 1 })
  await publishSigned(url, { room: 'chat.1', message: { n: 2 } })
  await reconnected
  t.equal(socketOf(ann).recovered, true, 'the session was recovered')
  t.equal(socketOf(ann).id, id, 'under the same id')
  // Echo sent subscribe for each channel again; each is answered, none is authorized again.
  for (const channel of ['chat_1', 'private-chat.1', 'presence-room.1']) t.equal(await answerTo(ann, channel), 'ok', `${channel} answered again`)
  t.equal(laravel.requests.length, asked, 'Laravel was not asked again')

  const last = nextOn(ann, 'new_message', 'private-chat.1')
  await publishPublic(url, { n: 3 })
  await publishSigned(url, { room: 'chat.1', message: { n: 4 } })
  await last
  const messages = seen.filter(({ event }) => event === 'new_message').map(({ args }) => (args[1] as { message: { n: number } }).message.n)
  t.same(messages, [1, 2, 3, 4], 'the missed events, then the new ones, each once')
})

t.test('presence after a recovered disconnect: members answered again, nothing announced twice', async (t) => {
  const { fastify, url } = await bridgeWithLaravel(t)
  const ann = await connectEcho(t, url, reconnecting('laravel_session=ann'))
  const annOtherTab = await connectEcho(t, url, { extraHeaders: { cookie: 'laravel_session=ann' } })
  const bob = await connectEcho(t, url, { extraHeaders: { cookie: 'laravel_session=bob' } })
  await subscribeAll(ann)
  annOtherTab.join('room.1')
  t.equal(await answerTo(annOtherTab, 'presence-room.1'), 'ok')
  const bobMembers = nextOn(bob, 'presence:subscribed', 'presence-room.1')
  bob.join('room.1')
  t.same(await bobMembers, [users['laravel_session=ann'], users['laravel_session=bob']])
  const bobSeen = recordAll(bob)
  const whispers = new Promise((resolve) => bob.private('chat.1').listenForWhisper('typing', resolve))
  t.equal(await answerTo(bob, 'private-chat.1'), 'ok')

  const members = nextOn(ann, 'presence:subscribed', 'presence-room.1')
  const reconnected = reconnection(ann)
  await dropConnection(socketOf(ann) as unknown as TestClient, fastify)
  await reconnected
  t.equal(socketOf(ann).recovered, true)
  t.same(await members, [users['laravel_session=ann'], users['laravel_session=bob']], 'presence:subscribed again, with every member')

  // Ann's other tab kept her in the channel: Bob was told nothing. A whisper proves it (it comes after).
  ann.private('chat.1').whisper('typing', { from: 'Ann' })
  t.same(await whispers, { from: 'Ann' }, 'the recovered socket still whispers on its authorized channel')
  t.same(bobSeen.filter(({ event }) => event.startsWith('presence:')), [], 'no leaving, no joining')
})

t.test('a user\'s only socket back within the presence grace: nothing announced to the others', async (t) => {
  const { fastify, url } = await bridgeWithLaravel(t)
  const ann = await connectEcho(t, url, reconnecting('laravel_session=ann'))
  const bob = await connectEcho(t, url, { extraHeaders: { cookie: 'laravel_session=bob' } })
  await subscribeAll(ann)
  bob.join('room.1')
  t.equal(await answerTo(bob, 'presence-room.1'), 'ok')
  const bobSeen = recordAll(bob)

  const members = nextOn(ann, 'presence:subscribed', 'presence-room.1')
  const reconnected = reconnection(ann)
  await dropConnection(socketOf(ann) as unknown as TestClient, fastify)
  await reconnected
  const byId = (list: unknown) => [...list as Array<{ user_id: number }>].sort((a, b) => a.user_id - b.user_id)
  t.same(byId(await members), [users['laravel_session=ann'], users['laravel_session=bob']], 'Ann is a member again')
  const marker = nextOn(bob, 'new_message', 'private-chat_marker')
  bob.private('chat_marker')
  t.equal(await answerTo(bob, 'private-chat_marker'), 'ok')
  await publishSigned(url, { room: 'chat_marker', message: {} })
  await marker
  t.same(bobSeen.filter(({ event }) => event.startsWith('presence:')), [], 'Bob was told nothing: no leaving, no second joining')
})
