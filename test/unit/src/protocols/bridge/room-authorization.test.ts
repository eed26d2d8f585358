// `subscribe` joins only rooms the tokens allow; a refused room delivers nothing.
import { createSigner } from 'fast-jwt'
import t, { type Test } from 'tap'
import {
  connectClient,
  nextEvent,
  postJson,
  recordEvents,
  secrets,
  securedEnv,
  socketToken,
  startBridge,
  subscribe,
  type TestClient
} from '../../../../helpers/bridge.ts'

// Signing is off here: these tests are about rooms; test/unit/plugins/app/publisher-auth.test.ts covers it.
const env = securedEnv({ BRIDGE_API_SIGNING_SECRET: '' })
const auth = { authorization: `Bearer ${secrets.apiToken}` }

async function publish (url: string, room: string, text: string) {
  const answer = await postJson(url, '/api/sms/new-message', { room, message: { text } }, auth)
  if (answer.status !== 202) throw new Error(`publish answered ${answer.status}`)
}

/** Publishes into `forbidden` rooms, then into `allowed`: the socket must get the last one only. */
async function assertOnlyAllowedDelivered (t: Test, url: string, socket: TestClient, forbidden: string[], allowed: string) {
  const received = recordEvents(socket)
  for (const room of forbidden) await publish(url, room, `for ${room}`)
  const arrived = nextEvent(socket, 'new_message')
  await publish(url, allowed, 'allowed')
  t.match(await arrived, { room: allowed, message: { text: 'allowed' } })
  t.same(received.map(({ data }) => (data as { room: string }).room), [allowed], 'nothing from a refused room')
}

const forbidden = (t: Test, ack: unknown, what: string) =>
  t.match(ack, { ok: false, error: { code: 'FORBIDDEN', message: /may not join/ } }, what)

t.test('the rooms claim allows exact names and prefix* patterns, and nothing else', async (t) => {
  const { url } = await startBridge(t, env)
  const socket = await connectClient(t, url, { auth: { token: socketToken({ sub: 'user-1', rooms: ['chat_1', 'team_7_*'] }) } })
  t.same(await subscribe(socket, 'chat_1'), { ok: true, room: 'chat_1' })
  t.same(await subscribe(socket, 'team_7_general'), { ok: true, room: 'team_7_general' })
  t.same(await subscribe(socket, 'team_7_'), { ok: true, room: 'team_7_' })
  for (const room of ['chat_2', 'chat_10', 'chat_1x', 'xchat_1', 'team_70', 'team_7', 'team_8_general', 'Chat_1']) {
    forbidden(t, await subscribe(socket, room), room)
  }
  await assertOnlyAllowedDelivered(t, url, socket, ['chat_2', 'chat_10', 'team_70', 'team_8_general'], 'chat_1')
})

t.test('a connection token without rooms may join no room on its own', async (t) => {
  const { url } = await startBridge(t, env)
  const socket = await connectClient(t, url, { auth: { token: socketToken({ sub: 'user-1' }) } })
  forbidden(t, await subscribe(socket, 'chat_1'), 'chat_1')
})

t.test('a per-room token of the same user grants exactly its room', async (t) => {
  const { url } = await startBridge(t, env)
  const socket = await connectClient(t, url, { auth: { token: socketToken({ sub: 42 }) } })
  t.same(await subscribe(socket, 'chat_5', socketToken({ sub: '42', room: 'chat_5' })), { ok: true, room: 'chat_5' })
  forbidden(t, await subscribe(socket, 'chat_6', socketToken({ sub: '42', room: 'chat_5' })), 'another room\'s token')
  forbidden(t, await subscribe(socket, 'chat_6'), 'the same room without its token')
  await assertOnlyAllowedDelivered(t, url, socket, ['chat_6'], 'chat_5')
})

t.test('a per-room token is refused when it is not this user\'s, expired, badly signed or not a room token', async (t) => {
  const { url } = await startBridge(t, env)
  const socket = await connectClient(t, url, { auth: { token: socketToken({ sub: 'user-1', rooms: ['lobby'] }) } })
  const now = Math.floor(Date.now() / 1000)
  const sign = createSigner({ key: secrets.jwtSecret, algorithm: 'HS256', noTimestamp: true })
  const tokens: Record<string, unknown> = {
    'another user': socketToken({ sub: 'user-2', room: 'chat_9' }),
    expired: sign({ sub: 'user-1', room: 'chat_9', exp: now - 10 }),
    'not yet valid': sign({ sub: 'user-1', room: 'chat_9', exp: now + 600, nbf: now + 300 }),
    'without exp': sign({ sub: 'user-1', room: 'chat_9' }),
    'without room': socketToken({ sub: 'user-1' }),
    'a room pattern': socketToken({ sub: 'user-1', room: 'chat_*' }),
    'another secret': socketToken({ sub: 'user-1', room: 'chat_9' }, `${secrets.jwtSecret}x`),
    'HS512 with the right secret': createSigner({ key: secrets.jwtSecret, algorithm: 'HS512' })({ sub: 'user-1', room: 'chat_9', exp: now + 600 }),
    'alg none': `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'user-1', room: 'chat_9', exp: now + 600 })).toString('base64url')}.`,
    garbage: 'garbage'
  }
  for (const [what, token] of Object.entries(tokens)) {
    forbidden(t, await socket.timeout(5000).emitWithAck('subscribe', { room: 'chat_9', token } as never), what)
  }
  t.match(await socket.timeout(5000).emitWithAck('subscribe', { room: 'chat_9', token: 42 } as never), {
    ok: false,
    error: { code: 'INVALID_PAYLOAD' }
  }, 'a token that is not a string')
  t.same(await subscribe(socket, 'lobby'), { ok: true, room: 'lobby' })
  await assertOnlyAllowedDelivered(t, url, socket, ['chat_9'], 'lobby')
})

t.test('a rooms claim of "*" allows every room', async (t) => {
  const { url } = await startBridge(t, env)
  const socket = await connectClient(t, url, { auth: { token: socketToken({ sub: 'admin', rooms: ['*'] }) } })
  t.same(await subscribe(socket, 'any.room:at@all'), { ok: true, room: 'any.room:at@all' })
})

t.test('a room or Echo channel named like another socket\'s id reaches that room only, never the socket\'s own messages', async (t) => {
  const { fastify, url } = await startBridge(t, env)
  const victim = await connectClient(t, url, { auth: { token: socketToken({ sub: 'victim', rooms: ['chat_*'] }) } })
  const attacker = await connectClient(t, url, { auth: { token: socketToken({ sub: 'attacker', rooms: ['*'] }) } })
  const victimId = victim.id ?? ''
  t.match(victimId, /^\d+\.\d+$/, 'a Pusher-shaped id: a valid room name')
  const engineId = (victim.io.engine as unknown as { id: string }).id
  for (const room of [victimId, engineId]) {
    t.same(await subscribe(attacker, room), { ok: true, room }, 'the name is a room like any other')
  }
  const echoJoined = new Promise((resolve) => {
    attacker.on('subscription_succeeded' as never, resolve)
  })
  ;(attacker.emit as (event: string, ...args: unknown[]) => void)('subscribe', { channel: victimId })
  await echoJoined
  const seenByAttacker = recordEvents(attacker)
  const seenByVictim = recordEvents(victim)

  // What the bridge sends to the victim's own socket.io room (a direct emit, a `toOthers()`
  // exclusion's counterpart) goes to the victim alone.
  const direct = nextEvent(victim, 'subscribed')
  fastify.io.to(victimId).emit('subscribed', { room: 'for-the-victim-only' })
  t.same(await direct, { room: 'for-the-victim-only' })

  // A publish to the room of that name reaches its subscribers, not the socket of that id.
  const published = nextEvent(attacker, 'new_message')
  await publish(url, victimId, 'to the room named like the victim')
  t.match(await published, { room: victimId })
  const marker = nextEvent(victim, 'new_message')
  t.same(await subscribe(victim, 'chat_marker'), { ok: true, room: 'chat_marker' })
  await publish(url, 'chat_marker', 'marker')
  await marker
  t.same(seenByVictim.map(({ event, data }) => [event, (data as { room: string }).room]),
    [['subscribed', 'for-the-victim-only'], ['subscribed', 'chat_marker'], ['new_message', 'chat_marker']],
    'the victim got its own message, its first subscription\'s notice and the marker only')
  t.notOk(seenByAttacker.some(({ data }) => JSON.stringify(data).includes('for-the-victim-only')), 'the attacker got none of the victim\'s messages')
})
