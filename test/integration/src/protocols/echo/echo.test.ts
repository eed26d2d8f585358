// Laravel Echo (the npm package with socket.io-client) against the bridge: public, private and
// presence channels, HTTP API publishes reaching Echo listeners of the room's private channel,
// tokens mode and open mode.
import t from 'tap'
import { connectClient, metricValue, nextEvent, postJson, recordEvents, refusedConnection, securedEnv, socketToken, startBridge, subscribe } from '../../../../helpers/bridge.ts'
import { answerTo, connectEcho, nextOn, publishSigned, recordAll, socketOf } from '../../../../helpers/echo.ts'

// Many real bridges and Echo clients (loading Echo itself first): generous on a busy machine.
t.setTimeout(180_000)

t.test('a section 1 publish to room R reaches an Echo listener of private-R, with a leading dot', async (t) => {
  const { url } = await startBridge(t)
  const echo = await connectEcho(t, url)
  const received = new Promise((resolve) => echo.private('chat_123').listen('.new_message', resolve))
  t.equal(await answerTo(echo, 'private-chat_123'), 'ok')
  const body = { room: 'chat_123', message: { id: 1, text: 'Привет!' }, uuid: 'echo-1' }
  t.equal((await postJson(url, '/api/sms/new-message', body)).status, 202)
  t.same(await received, body, 'Echo hands the payload to the listener')
})

t.test('Echo subscribers of private-R and section 3 subscribers of room R each get the event once, in their own format', async (t) => {
  const { url } = await startBridge(t)
  const echo = await connectEcho(t, url)
  const section3 = await connectClient(t, url)
  const echoSeen = recordAll(echo)
  const roomSeen = recordEvents(section3)
  echo.private('chat_1')
  t.equal(await answerTo(echo, 'private-chat_1'), 'ok')
  // The public channel of the same name, on the same connection: another audience.
  echo.channel('chat_1')
  t.equal(await answerTo(echo, 'chat_1'), 'ok')
  t.same(await subscribe(section3, 'chat_1'), { ok: true, room: 'chat_1' })

  const echoGot = nextOn(echo, 'new_message', 'private-chat_1')
  const roomGot = nextEvent(section3, 'new_message')
  await postJson(url, '/api/sms/new-message', { room: 'chat_1', message: { n: 1 }, uuid: 'both-1' })
  await Promise.all([echoGot, roomGot])
  const marker = nextOn(echo, 'status_update', 'private-chat_1')
  const roomMarker = nextEvent(section3, 'status_update')
  await postJson(url, '/api/sms/status-update', { room: 'chat_1', messageId: 1, status: 'read' })
  await Promise.all([marker, roomMarker])

  t.same(echoSeen.filter(({ event }) => event === 'new_message').map(({ args }) => args),
    [['private-chat_1', { room: 'chat_1', message: { n: 1 }, uuid: 'both-1' }]], 'Echo: (event, channel, payload), once, nothing on the public chat_1')
  t.same(roomSeen.filter(({ event }) => event === 'new_message').map(({ data }) => data),
    [{ room: 'chat_1', message: { n: 1 }, uuid: 'both-1' }], 'section 3: (event, payload), once')
})

t.test('one connection subscribed to room R and to private-R gets each event once in each format', async (t) => {
  const { url } = await startBridge(t)
  const both = await connectClient(t, url)
  t.same(await subscribe(both, 'chat_2'), { ok: true, room: 'chat_2' })
  const echoAnswer = new Promise((resolve) => both.on('subscription_succeeded', resolve))
  ;(both.emit as (event: string, payload: unknown) => void)('subscribe', { channel: 'private-chat_2', auth: { headers: {} } })
  t.equal(await echoAnswer, 'private-chat_2')
  const seen: unknown[][] = []
  both.onAny((event: string, ...args: unknown[]) => { seen.push([event, ...args.slice(0, -1)]) })
  const marker = nextEvent(both, 'status_update')
  const body = { room: 'chat_2', message: { n: 1 }, uuid: 'twice-1' }
  await postJson(url, '/api/sms/new-message', body)
  await postJson(url, '/api/sms/status-update', { room: 'chat_2', messageId: 1, status: 'read' })
  await marker
  t.same(seen.filter(([event]) => event === 'new_message'), [['new_message', body], ['new_message', 'private-chat_2', body]],
    'as (event, data) for the room and (event, channel, data) for the channel')
})

t.test('tokens mode: the JWT\'s rooms claim decides private channels, from auth.token or bearerToken', async (t) => {
  const { url } = await startBridge(t, securedEnv())
  const viaToken = await connectEcho(t, url, { socketOptions: { auth: { headers: {}, token: socketToken({ sub: 'u1', rooms: ['private-chat.1', 'private-team.*'] }) } } })
  const viaBearer = await connectEcho(t, url, { bearerToken: socketToken({ sub: 'u2', rooms: ['private-chat.*'] }) })

  viaToken.private('chat.1')
  viaToken.private('team.7')
  viaToken.private('chat.2')
  t.equal(await answerTo(viaToken, 'private-chat.1'), 'ok', 'an exact name')
  t.equal(await answerTo(viaToken, 'private-team.7'), 'ok', 'a prefix pattern')
  t.equal(await answerTo(viaToken, 'private-chat.2'), 403, 'a channel the claim does not name')
  viaBearer.private('chat.2')
  t.equal(await answerTo(viaBearer, 'private-chat.2'), 'ok', 'the token from Echo\'s bearerToken')

  // The refused socket gets nothing of the channel; the allowed one gets the event.
  const refusedSeen = recordAll(viaToken)
  const allowed = nextOn(viaBearer, 'new_message', 'private-chat.2')
  t.equal((await publishSigned(url, { room: 'chat.2', message: { text: 'secret' } })).status, 202, 'room chat.2 is private-chat.2')
  t.match(await allowed, { message: { text: 'secret' } })
  const later = nextOn(viaToken, 'new_message', 'private-chat.1')
  await publishSigned(url, { room: 'chat.1', message: { text: 'marker' } })
  await later
  t.same(refusedSeen.map(({ args }) => args[0]), ['private-chat.1'], 'only the event of its own channel')
})

t.test('tokens mode: a channel name is matched whole, so a public name never unlocks its private twin', async (t) => {
  const { url } = await startBridge(t, securedEnv())
  const echo = await connectEcho(t, url, { bearerToken: socketToken({ sub: 'u1', rooms: ['chat.*'] }) })
  echo.private('chat.1')
  echo.channel('chat.1')
  t.equal(await answerTo(echo, 'private-chat.1'), 403, '"chat.*" does not allow "private-chat.1"')
  t.equal(await answerTo(echo, 'chat.1'), 'ok', 'public channels need no grant')
})

t.test('tokens mode: presence members are { user_id: sub, user_info }, one per user however many tabs', async (t) => {
  const { url } = await startBridge(t, securedEnv())
  const rooms = ['presence-room.*']
  const ann = await connectEcho(t, url, { bearerToken: socketToken({ sub: 1, rooms, user_info: { name: 'Ann' } }) })
  const annAgain = await connectEcho(t, url, { bearerToken: socketToken({ sub: '1', rooms, user_info: { name: 'Ann' } }) })
  const bob = await connectEcho(t, url, { bearerToken: socketToken({ sub: 'bob', rooms }) })

  const annHere = new Promise((resolve) => ann.join('room.1').here(resolve))
  t.same(await annHere, [{ name: 'Ann' }], 'Echo\'s here() with the user_info of every member')
  const annSeen = recordAll(ann)
  const annFirstMembers = nextOn(annAgain, 'presence:subscribed', 'presence-room.1')
  annAgain.join('room.1')
  t.same(await annFirstMembers, [{ user_id: '1', user_info: { name: 'Ann' } }], 'a second tab of Ann: still one member')

  const joining = new Promise((resolve) => ann.join('room.1').joining(resolve))
  const bobMembers = nextOn(bob, 'presence:subscribed', 'presence-room.1')
  bob.join('room.1')
  t.same(await joining, {}, 'joining: Bob\'s user_info (none in his token: {})')
  t.same(await bobMembers, [{ user_id: '1', user_info: { name: 'Ann' } }, { user_id: 'bob', user_info: {} }], 'Bob sees every member, himself included')
  t.same(annSeen.filter(({ event }) => event === 'presence:joining').map(({ args }) => args), [['presence-room.1', { user_id: 'bob', user_info: {} }]],
    'Ann\'s second tab did not announce Ann again; Bob joining was announced once')

  const bobSeen = recordAll(bob)
  const bobLeaving = nextOn(bob, 'presence:leaving', 'presence-room.1')
  ann.leave('room.1')
  annAgain.disconnect()
  t.same(await bobLeaving, { user_id: '1', user_info: { name: 'Ann' } }, 'Ann leaves with her last socket')
  t.same(bobSeen.map(({ event }) => event), ['presence:leaving'], 'once: her first tab leaving announced nothing')
})

t.test('open development mode: every channel is allowed; presence members are guests of their own', async (t) => {
  const { url } = await startBridge(t)
  const one = await connectEcho(t, url)
  const two = await connectEcho(t, url)
  one.private('anything.1')
  t.equal(await answerTo(one, 'private-anything.1'), 'ok')
  const oneMembers = nextOn(one, 'presence:subscribed', 'presence-lobby')
  one.join('lobby')
  const members = await oneMembers as Array<{ user_id: string }>
  t.match(members, [{ user_id: /^guest-[0-9a-f]{12}$/, user_info: {} }])
  const joining = nextOn(one, 'presence:joining', 'presence-lobby')
  two.join('lobby')
  const guest = await joining as { user_id: string }
  t.not(guest.user_id, members[0]?.user_id, 'another connection is another guest')
  t.notOk(String(guest.user_id).includes(socketOf(two).id ?? '-'), 'no socket id in a member')
})

t.test('tokens mode: a bad bearer token is refused like a bad auth.token; the subscriptions are counted', async (t) => {
  const { fastify, url } = await startBridge(t, securedEnv())
  t.equal(await refusedConnection(t, url, { auth: { headers: { Authorization: 'Bearer not-a-jwt' } } }), 'unauthorized')
  t.equal(await refusedConnection(t, url, { auth: { headers: {} } }), 'unauthorized', 'Echo without a token')
  const echo = await connectEcho(t, url, { bearerToken: socketToken({ sub: 'u1', rooms: ['private-*', 'presence-*'] }) })
  echo.channel('lobby')
  echo.private('a')
  echo.join('b')
  for (const channel of ['lobby', 'private-a', 'presence-b']) t.equal(await answerTo(echo, channel), 'ok')
  const metrics = (await fastify.inject({ method: 'GET', url: '/metrics' })).body
  for (const kind of ['public', 'private', 'presence']) {
    t.equal(metricValue(metrics, `bridge_echo_subscriptions_total{kind="${kind}"}`), 1, kind)
  }
  t.equal(metricValue(metrics, 'bridge_subscriptions'), 3, 'Echo subscriptions are subscriptions of the node')
})
