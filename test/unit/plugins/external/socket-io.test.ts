// Connection state recovery on one node: a client back within the window gets what it missed.
import t from 'tap'
import { connectClient, nextEvent, postJson, recordEvents, startBridge, subscribe } from '../../../helpers/bridge.ts'
import { dropConnection, eventsArrived, reconnect } from '../../../helpers/recovery.ts'

t.test('a client back within 2 minutes gets the events it missed, in order, and keeps its rooms', async (t) => {
  const { fastify, url } = await startBridge(t)
  const client = await connectClient(t, url)
  await subscribe(client, 'chat_1')
  const received = recordEvents(client)

  const first = nextEvent(client, 'new_message')
  await postJson(url, '/api/sms/new-message', { room: 'chat_1', message: { n: 0 } })
  await first
  t.equal(client.recovered, false, 'a fresh connection is not a recovered one')

  await dropConnection(client, fastify)
  for (const n of [1, 2, 3]) {
    t.equal((await postJson(url, '/api/sms/new-message', { room: 'chat_1', message: { n } })).status, 202)
  }
  await postJson(url, '/api/sms/new-message', { room: 'other_room', message: { n: -1 } })

  const missed = eventsArrived(client, received, 4)
  await reconnect(client)
  t.equal(client.recovered, true, 'socket.recovered is true')
  await missed

  const after = nextEvent(client, 'new_message')
  await postJson(url, '/api/sms/new-message', { room: 'chat_1', message: { n: 4 } })
  await after
  t.same(received.map(({ event, data }) => [event, (data as { message: { n: number } }).message.n]),
    [0, 1, 2, 3, 4].map((n) => ['new_message', n]),
    'the missed events in order, then new ones without subscribing again; nothing from other rooms')
})

t.test('a client that had received nothing yet still recovers its rooms and missed events', async (t) => {
  const { fastify, url } = await startBridge(t)
  const client = await connectClient(t, url)
  const received = recordEvents(client)
  t.same(await subscribe(client, 'chat_2'), { ok: true, room: 'chat_2' })
  t.same(received, [{ event: 'subscribed', data: { room: 'chat_2' } }], 'one subscribed event, before the ack')
  t.same(await subscribe(client, 'chat_3'), { ok: true, room: 'chat_3' })
  t.equal(received.length, 1, 'only once per connection')
  received.length = 0

  await dropConnection(client, fastify)
  await postJson(url, '/api/sms/new-message', { room: 'chat_3', message: { n: 1 } })
  const missed = eventsArrived(client, received, 1)
  await reconnect(client)
  t.equal(client.recovered, true)
  await missed
  t.equal(received.length, 1)
  t.match(received, [{ event: 'new_message', data: { room: 'chat_3', message: { n: 1 } } }], 'the missed event')
})
