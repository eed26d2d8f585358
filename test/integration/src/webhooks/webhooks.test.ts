// Webhooks of one bridge (contract section 7) to a real HTTP receiver, with real socket.io, Echo
// and pusher-js clients: what is sent, when, signed how, and what a failing receiver changes.
import t from 'tap'
import { once } from 'node:events'
import { connectClient, metricValue, socketToken, startBridge, startServer, subscribe, unsubscribe, waitFor } from '../../../helpers/bridge.ts'
import { answerTo, connectEcho, socketOf } from '../../../helpers/echo.ts'
import { pusherApp } from '../../../helpers/pusher.ts'
import { connectPusher, pusherEnv, subscribed } from '../../../helpers/pusher-js.ts'
import { eventsOf, webhookReceiver } from '../../../helpers/webhook-receiver.ts'

t.setTimeout(120_000)

const rooms = ['chat.*', 'private-chat.*', 'presence-room.*', 'news']

async function bridgeWithReceiver (t: Parameters<typeof webhookReceiver>[0], env: Record<string, string> = {}) {
  const receiver = await webhookReceiver(t)
  const bridge = await startBridge(t, pusherEnv({ BRIDGE_WEBHOOK_URL: receiver.url, BRIDGE_WEBHOOK_BATCH_MS: '20', ...env }))
  return { ...bridge, receiver }
}

t.test('occupied and vacated once per channel across socket.io rooms, Echo and pusher-js; room R is private-R; signed, Pusher\'s format', async (t) => {
  const { url, receiver } = await bridgeWithReceiver(t)
  const room = await connectClient(t, url, { auth: { token: socketToken({ sub: 'cid', rooms }) } })
  t.same(await subscribe(room, 'chat.1'), { ok: true, room: 'chat.1' })
  await waitFor(() => eventsOf(receiver.delivered(), 'private-chat.1').length === 1, 'channel_occupied of the room')
  const echo = await connectEcho(t, url, { bearerToken: socketToken({ sub: 'bob', rooms }) })
  echo.private('chat.1')
  t.equal(await answerTo(echo, 'private-chat.1'), 'ok')
  const pusher = await connectPusher(t, url)
  await subscribed(pusher, 'news')
  await subscribed(pusher, 'private-chat.1')
  await waitFor(() => eventsOf(receiver.delivered(), 'news').length === 1, 'channel_occupied of the public channel')

  t.same(await unsubscribe(room, 'chat.1'), { ok: true, room: 'chat.1' })
  echo.leave('chat.1')
  pusher.unsubscribe('private-chat.1')
  pusher.unsubscribe('news')
  await waitFor(() => eventsOf(receiver.delivered(), 'private-chat.1').length === 2 && eventsOf(receiver.delivered(), 'news').length === 2, 'both vacated')
  t.same(eventsOf(receiver.delivered(), 'private-chat.1'), ['channel_occupied', 'channel_vacated'], 'one channel for room chat.1, Echo\'s private-chat.1 and pusher-js\'s, one pair')
  t.same(eventsOf(receiver.delivered(), 'news'), ['channel_occupied', 'channel_vacated'])
  for (const request of receiver.requests) {
    t.equal(request.headers['content-type'], 'application/json', 'Content-Type exactly application/json')
    t.equal(request.headers['x-pusher-key'], pusherApp.key)
    t.ok(request.signed, 'X-Pusher-Signature is the HMAC of the raw body with the app secret')
    t.type(request.body.time_ms, 'number')
    t.ok(Math.abs(Date.now() - request.body.time_ms) < 60_000, 'time_ms is a time in ms')
  }
})

t.test('member_added/removed once per user across tabs and protocols; user_id a string; a recovered reconnect sends no pair', async (t) => {
  const { url, receiver } = await bridgeWithReceiver(t)
  const tab1 = await connectEcho(t, url, { bearerToken: socketToken({ sub: 'ann', rooms }), reconnection: true })
  tab1.join('room.1')
  t.equal(await answerTo(tab1, 'presence-room.1'), 'ok')
  const tab2 = await connectEcho(t, url, { bearerToken: socketToken({ sub: 'ann', rooms }) })
  tab2.join('room.1')
  t.equal(await answerTo(tab2, 'presence-room.1'), 'ok')
  const pusher = await connectPusher(t, url, { member: { user_id: 7, user_info: { name: 'Bob' } } })
  await subscribed(pusher, 'presence-room.1')
  await waitFor(() => eventsOf(receiver.delivered(), 'presence-room.1').length === 3, 'occupied and two members')
  t.same(eventsOf(receiver.delivered(), 'presence-room.1'), ['channel_occupied', 'member_added:ann', 'member_added:7'])
  t.ok(receiver.delivered().filter((event) => event.name === 'member_added').every((event) => 'user_id' in event && typeof event.user_id === 'string'), 'user_id is a string')

  // A dropped connection whose client comes back with its session: no removed/added, no vacated/occupied.
  const socket = socketOf(tab1)
  const recovered = new Promise<boolean>((resolve) => socket.once('connect', () => resolve(socket.recovered)))
  socket.io.engine.close()
  t.equal(await recovered, true, 'the session was recovered')
  tab2.leave('room.1')
  // The grace of the dropped socket (5 s) passes with nothing sent.
  await new Promise((resolve) => setTimeout(resolve, 6500))
  t.same(eventsOf(receiver.delivered(), 'presence-room.1'), ['channel_occupied', 'member_added:ann', 'member_added:7'], 'nothing for the blip or the second tab')

  pusher.disconnect()
  tab1.leave('room.1')
  await waitFor(() => eventsOf(receiver.delivered(), 'presence-room.1').length === 6, 'both members removed and the channel vacated')
  const events = eventsOf(receiver.delivered(), 'presence-room.1')
  t.same(events.slice(3, 5).sort(), ['member_removed:7', 'member_removed:ann'])
  t.equal(events.at(-1), 'channel_vacated', 'vacated after its last member left')
})

t.test('a dropped socket that does not come back is gone within 10 s', async (t) => {
  const { url, receiver } = await bridgeWithReceiver(t)
  const echo = await connectEcho(t, url, { bearerToken: socketToken({ sub: 'cy', rooms }) })
  echo.join('room.2')
  t.equal(await answerTo(echo, 'presence-room.2'), 'ok')
  await waitFor(() => eventsOf(receiver.delivered(), 'presence-room.2').length === 2, 'occupied and added')
  const dropped = Date.now()
  socketOf(echo).io.engine.close()
  await waitFor(() => eventsOf(receiver.delivered(), 'presence-room.2').length === 4, 'removed and vacated', 15_000)
  t.ok(Date.now() - dropped <= 10_000, `gone after ${Date.now() - dropped} ms`)
  t.same(eventsOf(receiver.delivered(), 'presence-room.2'), ['channel_occupied', 'member_added:cy', 'member_removed:cy', 'channel_vacated'])
})

t.test('client_event only when listed: data a JSON string, the sender\'s socket_id and user_id', async (t) => {
  const { url, receiver } = await bridgeWithReceiver(t, { BRIDGE_WEBHOOK_EVENTS: 'client_event' })
  const echo = await connectEcho(t, url, { bearerToken: socketToken({ sub: 'dee', rooms }) })
  echo.join('room.3')
  t.equal(await answerTo(echo, 'presence-room.3'), 'ok')
  const pusher = await connectPusher(t, url, { member: { user_id: 'eve' } })
  const channel = await subscribed(pusher, 'presence-room.3')
  channel.trigger('client-typing', { typing: true })
  echo.join('room.3').whisper('typing', { typing: false })
  await waitFor(() => receiver.delivered().length === 2, 'two client events')
  // Two connections: their whispers may arrive in either order.
  const byUser = (user: string) => receiver.delivered().find((event) => 'user_id' in event && event.user_id === user)
  t.match(byUser('eve'), { name: 'client_event', channel: 'presence-room.3', event: 'client-typing', data: '{"typing":true}', socket_id: pusher.connection.socket_id, user_id: 'eve' })
  t.match(byUser('dee'), { name: 'client_event', channel: 'presence-room.3', event: 'client-typing', data: '{"typing":false}', socket_id: socketOf(echo).id, user_id: 'dee' })
  t.notOk(receiver.delivered().some((event) => event.name !== 'client_event'), 'nothing that is not listed')
})

t.test('a receiver answering 500, then 200: retried within 10 s, in order, counted on /metrics', async (t) => {
  const { url, receiver } = await bridgeWithReceiver(t)
  let failing = true
  receiver.answer((_request, response) => {
    response.statusCode = failing ? 500 : 200
    response.end(failing ? 'x'.repeat(100_000) : 'ok')
  })
  const room = await connectClient(t, url, { auth: { token: socketToken({ sub: 'cid', rooms }) } })
  await subscribe(room, 'chat.9')
  await unsubscribe(room, 'chat.9')
  await waitFor(() => receiver.requests.length >= 1, 'a first attempt')
  failing = false
  const firstFailedAt = Date.now()
  await waitFor(() => receiver.requests.length >= 2, 'a retry', 15_000)
  t.ok(Date.now() - firstFailedAt < 10_000, 'the first retry within 10 s')
  t.same(eventsOf(receiver.requests.at(-1)?.body.events ?? [], 'private-chat.9'), ['channel_occupied', 'channel_vacated'], 'the same events again, in order')
  const metrics = await (await fetch(`${url}/metrics`)).text()
  t.equal(metricValue(metrics, 'bridge_webhook_events_sent_total'), 2)
  t.ok(metricValue(metrics, 'bridge_webhook_requests_failed_total') >= 1)
  t.ok(metricValue(metrics, 'bridge_webhook_retries_total') >= 1)
  t.equal(metricValue(metrics, 'bridge_webhook_events_dropped_total'), 0)
  t.equal(metricValue(metrics, 'bridge_webhook_queue_events'), 0)
  t.equal(metricValue(metrics, 'bridge_webhook_oldest_undelivered_seconds'), 0)
})

t.test('pusher-js alone on a presence channel: occupied, added, then removed before vacated', async (t) => {
  const { url, receiver } = await bridgeWithReceiver(t)
  const pusher = await connectPusher(t, url, { member: { user_id: 'fay' } })
  await subscribed(pusher, 'presence-room.8')
  await waitFor(() => eventsOf(receiver.delivered(), 'presence-room.8').length === 2, 'occupied and added')
  pusher.unsubscribe('presence-room.8')
  await waitFor(() => eventsOf(receiver.delivered(), 'presence-room.8').length === 4, 'removed and vacated')
  t.same(eventsOf(receiver.delivered(), 'presence-room.8'), ['channel_occupied', 'member_added:fay', 'member_removed:fay', 'channel_vacated'])
})

t.test('the process refuses to start: one line naming the variable, exit 1', async (t) => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ BRIDGE_WEBHOOK_URL: 'https://app.example.com/pusher/webhooks' }, /^bridge: invalid configuration: BRIDGE_WEBHOOK_URL needs BRIDGE_PUSHER_APP_ID, BRIDGE_PUSHER_KEY and BRIDGE_PUSHER_SECRET/],
    [pusherEnv({ BRIDGE_WEBHOOK_URL: 'app.example.com/hooks' }) as Record<string, string>, /^bridge: invalid configuration: BRIDGE_WEBHOOK_URL must be a URL/],
    [{ BRIDGE_WEBHOOK_EVENTS: 'member_added,presence_changed' }, /^bridge: invalid configuration: BRIDGE_WEBHOOK_EVENTS must list some of .*, got "presence_changed"$/]
  ]
  for (const [env, message] of cases) {
    const { child, output } = startServer({ ...env, PORT: '0' })
    const [code] = await once(child, 'exit') as [number | null]
    t.equal(code, 1, JSON.stringify(env))
    const lines = output().stderr.trim().split('\n')
    t.equal(lines.length, 1, 'one line')
    t.match(lines[0], message)
  }
})
