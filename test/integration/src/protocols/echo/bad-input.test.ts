// Whatever a client sends as Echo's subscribe, unsubscribe or client event: a clear
// subscription_error or nothing, never a throw, never a disconnect of anyone else. Also the
// per-connection limits, and subscriptions that change while Laravel is still deciding.
import type { ServerResponse } from 'node:http'
import t from 'tap'
import { connectClient, metricValue, postJson, securedEnv, startBridge, subscribe } from '../../../../helpers/bridge.ts'
import { answerTo, connectEcho, emitRaw, nextOn, publishSigned, recordAll, socketOf } from '../../../../helpers/echo.ts'
import { fakeLaravel } from '../../../../helpers/fake-laravel.ts'

// Many real bridges and Echo clients (loading Echo itself first): generous on a busy machine.
t.setTimeout(180_000)

t.test('malformed subscribe, unsubscribe and client event payloads are refused or ignored, and nobody is hurt', async (t) => {
  // Garbage counts against the subscribe rate limit too: room for all of it in one second.
  const { fastify, url } = await startBridge(t, { BRIDGE_MAX_SUBSCRIBES_PER_SECOND: '100' })
  const bystander = await connectEcho(t, url)
  bystander.private('chat_1')
  t.equal(await answerTo(bystander, 'private-chat_1'), 'ok')
  const bystanderSeen = recordAll(bystander)
  const vandal = await connectEcho(t, url)
  let vandalDropped = false
  socketOf(vandal).on('disconnect', () => { vandalDropped = true })
  const vandalSeen = recordAll(vandal)

  // Ignored: no channel string to answer about.
  for (const payload of [undefined, null, 42, 'chat_1', [], ['chat_1'], { channel: 42 }, { channel: null }, { channel: ['chat_1'] }, { channel: {} }, { channel: true }]) {
    emitRaw(vandal, 'subscribe', payload)
    emitRaw(vandal, 'unsubscribe', payload)
    emitRaw(vandal, 'client event', payload)
  }
  emitRaw(vandal, 'subscribe')
  emitRaw(vandal, 'client event')
  emitRaw(vandal, 'subscribe', { channel: 'chat_1' }, 'extra', 42)
  emitRaw(vandal, 'client event', { channel: 'chat_1', event: 42, data: {} })
  emitRaw(vandal, 'client event', { channel: 'private-x', event: 'client-x', data: new Uint8Array([1, 2, 3]) })

  // Refused with 403: names that break the rules.
  const badNames = ['', 'chat 1', 'chat/1', 'чат', 'chat_1\n', 'a'.repeat(165), 'chat#1', 'chat*', 'x'.repeat(15_000)]
  for (const channel of badNames) emitRaw(vandal, 'subscribe', { channel })
  for (const channel of badNames) t.equal(await answerTo(vandal, channel), 403, JSON.stringify(channel.slice(0, 20)))
  t.equal(await answerTo(vandal, 'chat_1'), 'ok', 'extra arguments are ignored')

  // Odd but valid names, and odd auth objects (from another connection: 20 calls a second each).
  const odd = await connectEcho(t, url)
  for (const channel of ['__proto__', 'constructor', 'a'.repeat(164), 'a=b@c,d.e;f:g-h_i']) {
    emitRaw(odd, 'subscribe', { channel, auth: 'not an object' })
    t.equal(await answerTo(odd, channel), 'ok', channel.slice(0, 20))
  }
  for (const auth of [null, [], { headers: null }, { headers: 'x' }, { headers: { Authorization: 42 } }, { headers: [] }]) {
    emitRaw(odd, 'subscribe', { channel: 'private-odd', auth })
    t.equal(await answerTo(odd, 'private-odd'), 'ok', JSON.stringify(auth))
    emitRaw(odd, 'unsubscribe', { channel: 'private-odd' })
  }
  emitRaw(odd, 'unsubscribe', { channel: 'never-joined' })
  emitRaw(odd, 'unsubscribe', { channel: 'bad name' })
  emitRaw(odd, 'unsubscribe', { channel: '__proto__' })

  // An Echo payload never gets a room ack; a room one still does.
  const section3 = await connectClient(t, url)
  t.match(await section3.timeout(5000).emitWithAck('subscribe', {} as never), { ok: false, error: { code: 'INVALID_PAYLOAD' } })

  // Everything still works for both, and the bystander saw only real events.
  const real = nextOn(bystander, 'new_message', 'private-chat_1')
  await postJson(url, '/api/sms/new-message', { room: 'chat_1', message: { text: 'real' } })
  t.match(await real, { message: { text: 'real' } })
  t.same(bystanderSeen.map(({ event }) => event), ['new_message'], 'the bystander got nothing but the event')
  t.equal(vandalDropped, false, 'the vandal itself is still connected')
  t.ok(vandalSeen.every(({ event }) => ['subscription_error', 'subscription_succeeded', 'new_message'].includes(event)), 'and was answered only with subscription answers')
  const refusals = (await fastify.inject({ method: 'GET', url: '/metrics' })).body
  t.equal(metricValue(refusals, 'bridge_echo_subscription_refusals_total{status="403"}'), badNames.length, 'refusals counted by status')
})

t.test('a message over socket.io\'s size limit drops that client only', async (t) => {
  const { url } = await startBridge(t)
  const bystander = await connectEcho(t, url)
  bystander.private('chat_1')
  t.equal(await answerTo(bystander, 'private-chat_1'), 'ok')
  const vandal = await connectEcho(t, url)
  const dropped = new Promise((resolve) => socketOf(vandal).on('disconnect', resolve))
  emitRaw(vandal, 'client event', { channel: 'private-x', event: 'client-x', data: 'x'.repeat(100_000) })
  await dropped
  const real = nextOn(bystander, 'new_message', 'private-chat_1')
  await postJson(url, '/api/sms/new-message', { room: 'chat_1', message: { text: 'still here' } })
  t.match(await real, { message: { text: 'still here' } })
})

t.test('more than 20 subscribe/unsubscribe calls a second: 429 for the excess, per connection', async (t) => {
  const { url } = await startBridge(t)
  const echo = await connectEcho(t, url)
  const channels = Array.from({ length: 40 }, (_, i) => `burst_${i}`)
  for (const channel of channels) emitRaw(echo, 'subscribe', { channel })
  const answers = await Promise.all(channels.map((channel) => answerTo(echo, channel)))
  const refused = answers.filter((answer) => answer === 429).length
  t.ok(refused > 0 && refused <= 20, `${refused} of 40 refused with 429`)
  t.same(answers.filter((answer) => answer !== 'ok' && answer !== 429), [], 'nothing else')
  const other = await connectEcho(t, url)
  other.channel('burst_0')
  t.equal(await answerTo(other, 'burst_0'), 'ok', 'another connection has its own allowance')
})

t.test('a connection may be in at most BRIDGE_MAX_ROOMS_PER_SOCKET Echo channels', async (t) => {
  const { url } = await startBridge(t, { BRIDGE_MAX_ROOMS_PER_SOCKET: '3' })
  const echo = await connectEcho(t, url)
  for (const channel of ['c1', 'c2', 'c3']) echo.channel(channel)
  for (const channel of ['c1', 'c2', 'c3']) t.equal(await answerTo(echo, channel), 'ok')
  echo.channel('c4')
  t.equal(await answerTo(echo, 'c4'), 403)
  emitRaw(echo, 'subscribe', { channel: 'c3' })
  t.equal(await answerTo(echo, 'c3'), 'ok', 'a channel it is in still answers ok')
  echo.leave('c1')
  emitRaw(echo, 'subscribe', { channel: 'c4' })
  t.equal(await answerTo(echo, 'c4'), 'ok', 'leaving one frees a place')
  const section3 = await connectClient(t, url)
  t.same(await subscribe(section3, 'r1'), { ok: true, room: 'r1' })
})

t.test('while Laravel decides: unsubscribing or disconnecting means never joined; asking twice asks once', async (t) => {
  const laravel = await fakeLaravel(t)
  const held: ServerResponse[] = []
  laravel.answer = () => (_request, response) => { held.push(response) }
  const { url } = await startBridge(t, securedEnv({ BRIDGE_AUTH_ENDPOINT: laravel.url }))
  const release = () => { for (const response of held.splice(0)) response.end('true') }

  const echo = await connectEcho(t, url)
  const seen = recordAll(echo)
  emitRaw(echo, 'subscribe', { channel: 'private-chat.1' })
  emitRaw(echo, 'subscribe', { channel: 'private-chat.1' })
  emitRaw(echo, 'subscribe', { channel: 'private-chat.2' })
  await laravel.received(2)
  emitRaw(echo, 'unsubscribe', { channel: 'private-chat.2' })
  // The unsubscribe is handled once a later subscription is: this one is public, answered at once.
  echo.channel('lobby')
  t.equal(await answerTo(echo, 'lobby'), 'ok')
  release()
  t.equal(await answerTo(echo, 'private-chat.1'), 'ok')

  const gone = await connectEcho(t, url)
  emitRaw(gone, 'subscribe', { channel: 'private-chat.1' })
  await laravel.received(3)
  gone.disconnect()
  release()

  // An event of each channel, private-chat.1's last: had private-chat.2 been joined, its event would be there.
  const last = nextOn(echo, 'new_message', 'private-chat.1')
  await publishSigned(url, { room: 'chat.2', message: { n: 2 } })
  await publishSigned(url, { room: 'chat.1', message: { n: 1 } })
  await last
  t.equal(laravel.requests.filter(({ form }) => form.channel_name === 'private-chat.1').length, 2, 'asked once for the socket that asked twice, once for the other')
  t.same(seen.filter(({ event }) => event.startsWith('subscription_')).map(({ args }) => args[0]), ['lobby', 'private-chat.1'],
    'private-chat.2 (unsubscribed while pending) was never answered')
  t.same(seen.filter(({ event }) => event === 'new_message').map(({ args }) => args[0]), ['private-chat.1'], 'nor joined')
})
