// Limits of the Pusher protocol: what a bad frame gets (pusher:error, with why, and the socket
// stays), client event size and rate (4301), frame floods, BRIDGE_MAX_CONNECTIONS (4100) and the
// slow-socket cut at BRIDGE_MAX_BUFFERED_BYTES, shared with socket.io's.
import type { Socket } from 'node:net'
import { setTimeout as pace } from 'node:timers/promises'
import t from 'tap'
import { connectClient, metricValue, refusedConnection, signedHeaders, startBridge } from '../../../../helpers/bridge.ts'
import { pusherChannelAuth } from '../../../../../src/protocols/echo/authorization/channel-auth-signature.ts'
import { app, connectPusher, dataOf, nextOnChannel, pusherEnv, rawPusher, subscribed } from '../../../../helpers/pusher-js.ts'

t.setTimeout(180_000)

async function established (raw: Awaited<ReturnType<typeof rawPusher>>): Promise<string> {
  return String(dataOf(await raw.next('pusher:connection_established')).socket_id)
}

t.test('malformed frames and unknown events get pusher:error saying why; the socket stays', async (t) => {
  const { url } = await startBridge(t, pusherEnv())
  const raw = await rawPusher(t, url)
  const socketId = await established(raw)
  const cases: Array<[unknown, RegExp]> = [
    ['not json', /does not parse/],
    ['[1,2]', /JSON object/],
    [{ data: {} }, /event/],
    [{ event: 'pusher:subscribe', channel: 7, data: {} }, /channel/],
    [{ event: 'pusher:bogus', data: {} }, /unknown event: pusher:bogus/],
    [{ event: 'whatever', data: {} }, /unknown event/],
    [{ event: 'pusher:subscribe', data: 'x' }, /data.channel/],
    [{ event: 'client-typing', channel: 'public-room', data: {} }, /private and presence/],
    [{ event: 'client-typing', channel: 'private-not-mine', data: {} }, /not subscribed/]
  ]
  for (const [frame, message] of cases) {
    raw.send(frame)
    const error = await raw.next('pusher:error')
    t.match((error.data as { message: string }).message, message, JSON.stringify(frame))
  }
  raw.ws.send(Buffer.from([1, 2, 3]), { binary: true })
  t.match(((await raw.next('pusher:error')).data as { message: string }).message, /binary/)

  raw.send({ event: 'pusher:subscribe', data: { channel: 'private-chat.1', auth: pusherChannelAuth(app, socketId, 'private-chat.1') } })
  await raw.next('pusher_internal:subscription_succeeded')
  raw.send({ event: 'client-big', channel: 'private-chat.1', data: { text: 'x'.repeat(11 * 1024) } })
  t.match(((await raw.next('pusher:error')).data as { message: string }).message, /larger than 10 KiB/)
  raw.send({ event: 'pusher:ping', data: {} })
  t.ok(await raw.next('pusher:pong'), 'still served')
})

t.test('client events past BRIDGE_MAX_WHISPERS_PER_SECOND get pusher:error 4301 and are dropped', async (t) => {
  const { url } = await startBridge(t, pusherEnv({ BRIDGE_MAX_WHISPERS_PER_SECOND: '3' }))
  const listener = await connectPusher(t, url)
  const channel = await subscribed(listener, 'private-chat.1')
  let received = 0
  channel.bind('client-n', () => { received += 1 })
  const raw = await rawPusher(t, url)
  const socketId = await established(raw)
  raw.send({ event: 'pusher:subscribe', data: { channel: 'private-chat.1', auth: pusherChannelAuth(app, socketId, 'private-chat.1') } })
  await raw.next('pusher_internal:subscription_succeeded')
  for (let i = 0; i < 6; i++) raw.send({ event: 'client-n', channel: 'private-chat.1', data: { i } })
  t.equal(dataOf(await raw.next('pusher:error')).code, 4301)
  await pace(300)
  t.equal(received, 3, 'the burst allowance got through, the rest did not')
  t.equal(raw.ws.readyState, raw.ws.OPEN, 'an error, not a close')
})

t.test('BRIDGE_WHISPERS=off drops client events with a pusher:error', async (t) => {
  const { url } = await startBridge(t, pusherEnv({ BRIDGE_WHISPERS: 'off' }))
  const raw = await rawPusher(t, url)
  await established(raw)
  raw.send({ event: 'client-x', channel: 'private-chat.1', data: {} })
  t.match(((await raw.next('pusher:error')).data as { message: string }).message, /turned off/)
})

t.test('a frame flood closes the flooding socket (4100), not its neighbour', async (t) => {
  const { url, fastify } = await startBridge(t, pusherEnv())
  const neighbour = await connectPusher(t, url)
  const channel = await subscribed(neighbour, 'news')
  const raw = await rawPusher(t, url)
  await established(raw)
  for (let i = 0; i < 1000; i++) raw.send({ event: 'pusher:ping', data: {} })
  t.equal((await raw.closed).code, 4100)
  const got = nextOnChannel(channel, 'Still')
  const body = JSON.stringify({ name: 'Still', channel: 'news', data: '{}' })
  const { signedPath } = await import('../../../../helpers/pusher.ts')
  t.equal((await fastify.inject({ method: 'POST', url: signedPath('POST', '/events', body), payload: body, headers: { 'content-type': 'application/json' } })).statusCode, 200)
  t.same(await got, {})
})

t.test('BRIDGE_MAX_CONNECTIONS counts every protocol; past it pusher:error 4100 and close', async (t) => {
  const { url } = await startBridge(t, pusherEnv({ BRIDGE_MAX_CONNECTIONS: '2', BRIDGE_JWT_SECRET: '' }))
  await connectClient(t, url)
  const first = await rawPusher(t, url)
  await established(first)
  const over = await rawPusher(t, url)
  t.equal(dataOf(await over.next('pusher:error')).code, 4100)
  t.equal((await over.closed).code, 4100)
  t.ok(await refusedConnection(t, url), 'a socket.io handshake is refused too')
  first.ws.close()
  await first.closed
  const again = await rawPusher(t, url)
  t.ok(await established(again), 'room again once one left')
})

t.test('a Pusher socket that does not read is cut at BRIDGE_MAX_BUFFERED_BYTES', async (t) => {
  const { url, fastify } = await startBridge(t, pusherEnv({ BRIDGE_MAX_BUFFERED_BYTES: '262144' }))
  const reader = await connectPusher(t, url)
  const readerChannel = await subscribed(reader, 'private-chat.1')
  const raw = await rawPusher(t, url)
  const socketId = await established(raw)
  raw.send({ event: 'pusher:subscribe', data: { channel: 'private-chat.1', auth: pusherChannelAuth(app, socketId, 'private-chat.1') } })
  await raw.next('pusher_internal:subscription_succeeded')
  ;(raw.ws as unknown as { _socket: Socket })._socket.pause()

  const cut = async () => metricValue((await fastify.inject({ method: 'GET', url: '/metrics' })).body, 'bridge_slow_sockets_disconnected_total')
  const text = 'x'.repeat(30_000)
  let published = 0
  while (await cut() === 0 && published < 3000) {
    const body = JSON.stringify({ room: 'chat.1', message: { text }, uuid: `slow-${published}` })
    const answer = await fastify.inject({ method: 'POST', url: '/api/sms/new-message', payload: body, headers: { 'content-type': 'application/json', ...signedHeaders(body) } })
    if (answer.statusCode !== 202) t.fail(`publish ${published}: ${answer.statusCode}`)
    published += 1
    if (published % 50 === 0) await pace(10)
  }
  t.equal(await cut(), 1, `cut after ${published} events of 30 KB it did not read`)
  ;(raw.ws as unknown as { _socket: Socket })._socket.resume()
  t.ok((await raw.closed).code > 0, 'its connection is gone')
  const got = nextOnChannel(readerChannel, 'Marker')
  const { pusherClient } = await import('../../../../helpers/pusher.ts')
  await pusherClient(url).trigger('private-chat.1', 'Marker', {})
  t.same(await got, {}, 'the reading neighbour is still served')
})
