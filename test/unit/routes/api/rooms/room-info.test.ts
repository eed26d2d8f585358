// GET /api/rooms/:room on a single node: sockets and distinct users in a room, 0 when empty.
import t from 'tap'
import { connectClient, startBridge, subscribe, unsubscribe } from '../../../../helpers/bridge.ts'
import { userIdFromHandshake } from '../../../../helpers/user-id.ts'
import { answerTo, connectEcho } from '../../../../helpers/echo.ts'
import { fakeLaravel } from '../../../../helpers/fake-laravel.ts'
import { pusherEnv, signedGet } from '../../../../helpers/pusher.ts'

t.test('counts the sockets in a room and their distinct users', async (t) => {
  const { fastify, url } = await startBridge(t)
  userIdFromHandshake(fastify)
  const phone = await connectClient(t, url, { auth: { sub: '42' } })
  const laptop = await connectClient(t, url, { auth: { sub: '42' } })
  const guest = await connectClient(t, url)
  const other = await connectClient(t, url, { auth: { sub: '7' } })
  for (const client of [phone, laptop, guest]) await subscribe(client, 'chat_1')
  await subscribe(other, 'chat_2')

  const response = await fastify.inject({ method: 'GET', url: '/api/rooms/chat_1' })
  t.equal(response.statusCode, 200)
  t.same(response.json(), { room: 'chat_1', subscribers: 3, users: 1 }, 'one user on two devices, and a socket without user')

  await unsubscribe(phone, 'chat_1')
  await unsubscribe(laptop, 'chat_1')
  t.same((await fastify.inject({ method: 'GET', url: '/api/rooms/chat_1' })).json(), { room: 'chat_1', subscribers: 1, users: 0 },
    'nobody who could be notified is online')
})

t.test('room R counts Echo\'s subscribers of private-R too; the public channel R is another audience', async (t) => {
  const { fastify, url } = await startBridge(t)
  userIdFromHandshake(fastify)
  const phone = await connectClient(t, url, { auth: { sub: '42' } })
  t.same(await subscribe(phone, 'chat_1'), { ok: true, room: 'chat_1' })
  const browser = await connectEcho(t, url, { socketOptions: { auth: { headers: {}, sub: '42' } } })
  const stranger = await connectEcho(t, url, { socketOptions: { auth: { headers: {}, sub: '7' } } })
  browser.private('chat_1')
  stranger.channel('chat_1')
  t.equal(await answerTo(browser, 'private-chat_1'), 'ok')
  t.equal(await answerTo(stranger, 'chat_1'), 'ok')
  t.same((await fastify.inject({ method: 'GET', url: '/api/rooms/chat_1' })).json(), { room: 'chat_1', subscribers: 2, users: 1 },
    'user 42 in room chat_1 and in private-chat_1; not user 7 of the public chat_1')
})

t.test('a room nobody is in answers zeros, never 404', async (t) => {
  const { fastify } = await startBridge(t)
  const response = await fastify.inject({ method: 'GET', url: '/api/rooms/chat_nobody' })
  t.equal(response.statusCode, 200)
  t.same(response.json(), { room: 'chat_nobody', subscribers: 0, users: 0 })
})

t.test('room names follow the room rules; special characters are allowed URL-encoded or not', async (t) => {
  const { fastify } = await startBridge(t)
  const allowed = await fastify.inject({ method: 'GET', url: '/api/rooms/team%3A1%40example.org' })
  t.same(allowed.json(), { room: 'team:1@example.org', subscribers: 0, users: 0 })
  t.equal((await fastify.inject({ method: 'GET', url: '/api/rooms/a.b-c_d:e@f' })).statusCode, 200)
  const longest = ':'.repeat(128)
  t.same((await fastify.inject({ method: 'GET', url: `/api/rooms/${encodeURIComponent(longest)}` })).json(),
    { room: longest, subscribers: 0, users: 0 }, 'the longest room name, encoded')

  for (const url of ['/api/rooms/chat%20room', '/api/rooms/chat%2F1', `/api/rooms/${'x'.repeat(129)}`]) {
    const response = await fastify.inject({ method: 'GET', url })
    t.equal(response.statusCode, 400, url)
    t.match(response.json(), { statusCode: 400, error: 'Bad Request', message: /^params\/room / }, `${url} names the room`)
  }
})

t.test('users are counted as the Pusher API counts them: Echo presence members Laravel authorized are users', async (t) => {
  const laravel = await fakeLaravel(t)
  laravel.answer = ({ form, headers }) => {
    const user = /laravel_session=user-(\d+)/.exec(String(headers.cookie))?.[1]
    if (user === undefined) return { status: 403, body: '' }
    return form.channel_name?.startsWith('presence-') === true
      ? { status: 200, body: JSON.stringify({ channel_data: { user_id: Number(user), user_info: { name: `user ${user}` } } }) }
      : { status: 200, body: 'true' }
  }
  const { fastify, url } = await startBridge(t, pusherEnv({ BRIDGE_AUTH_ENDPOINT: laravel.url }))
  // Two users, the first in two tabs: each a presence member and a subscriber of the room's private channel.
  for (const session of ['user-1', 'user-1', 'user-2']) {
    const echo = await connectEcho(t, url, { extraHeaders: { cookie: `laravel_session=${session}` } })
    echo.join('chat_9')
    echo.private('chat_9')
    t.equal(await answerTo(echo, 'presence-chat_9'), 'ok')
    t.equal(await answerTo(echo, 'private-chat_9'), 'ok')
  }
  const pusher = await signedGet(url, '/channels/presence-chat_9', { info: 'user_count' })
  t.match(pusher, { status: 200, body: { occupied: true, user_count: 2 } }, 'the Pusher API: two distinct members')
  t.same((await fastify.inject({ method: 'GET', url: '/api/rooms/chat_9' })).json(), { room: 'chat_9', subscribers: 3, users: 2 },
    'the room API: the same two users behind three sockets')
})
