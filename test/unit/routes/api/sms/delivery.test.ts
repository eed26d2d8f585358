// Publish over HTTP, receive over socket.io: every kind reaches exactly the subscribed sockets.
import t from 'tap'
import { connectClient, nextEvent, postJson, recordEvents, startBridge, subscribe, unsubscribe } from '../../../../helpers/bridge.ts'

const publishes = [
  { kind: 'new-message', event: 'new_message', body: { room: 'chat_123', message: { id: 1, text: 'Привет!', from: 42 } } },
  { kind: 'edit-message', event: 'edit_message', body: { room: 'chat_123', message: { id: 1, text: 'Привет, мир!' }, messageId: 1 } },
  { kind: 'reply-message', event: 'reply_message', body: { room: 'chat_123', message: { id: 2, text: 'ok' }, replyTo: '1' } },
  { kind: 'delete-message', event: 'delete_message', body: { room: 'chat_123', messageId: 1 } },
  { kind: 'status-update', event: 'status_update', body: { room: 'chat_123', messageId: 2, status: 'read' } }
] as const

t.test('each kind is delivered as its event with the body plus uuid, and nothing else', async (t) => {
  const { url } = await startBridge(t)
  const client = await connectClient(t, url)
  t.same(await subscribe(client, 'chat_123'), { ok: true, room: 'chat_123' })

  for (const { kind, event, body } of publishes) {
    const received = nextEvent(client, event)
    const answer = await postJson(url, `/api/sms/${kind}`, body)
    t.equal(answer.status, 202, kind)
    t.same(await received, { ...body, uuid: answer.body.uuid }, `${event} payload`)
  }
})

t.test('a given uuid is passed through to the payload', async (t) => {
  const { url } = await startBridge(t)
  const client = await connectClient(t, url)
  await subscribe(client, 'chat_9')
  const received = nextEvent(client, 'new_message')
  await postJson(url, '/api/sms/new-message', { room: 'chat_9', message: { text: 'hi' }, uuid: 'laravel-job-77' })
  t.same(await received, { room: 'chat_9', message: { text: 'hi' }, uuid: 'laravel-job-77' })
})

t.test('only sockets subscribed to the room receive its events', async (t) => {
  const { url } = await startBridge(t)
  const [alice, bob, carol, idle] = await Promise.all([
    connectClient(t, url), connectClient(t, url), connectClient(t, url), connectClient(t, url)
  ])
  await subscribe(alice, 'chat_1')
  await subscribe(bob, 'chat_1')
  await subscribe(carol, 'chat_2')
  const seenByCarol = recordEvents(carol)
  const seenByIdle = recordEvents(idle)

  const toAlice = nextEvent(alice, 'new_message')
  const toBob = nextEvent(bob, 'new_message')
  await postJson(url, '/api/sms/new-message', { room: 'chat_1', message: { text: 'for chat 1' } })
  t.match(await toAlice, { room: 'chat_1' })
  t.match(await toBob, { room: 'chat_1' })

  // carol's own room event arrives after the chat_1 one; had she received chat_1, it would be first.
  const toCarol = nextEvent(carol, 'new_message')
  await postJson(url, '/api/sms/new-message', { room: 'chat_2', message: { text: 'for chat 2' } })
  t.match(await toCarol, { room: 'chat_2' })
  t.same(seenByCarol.map((e) => (e.data as { room: string }).room), ['chat_2'], 'carol got only chat_2')
  t.same(seenByIdle, [], 'a socket in no room gets nothing')
})

t.test('after unsubscribe a socket no longer receives the room', async (t) => {
  const { url } = await startBridge(t)
  const leaving = await connectClient(t, url)
  const staying = await connectClient(t, url)
  await subscribe(leaving, 'chat_1')
  await subscribe(staying, 'chat_1')
  t.same(await unsubscribe(leaving, 'chat_1'), { ok: true, room: 'chat_1' })
  const seenByLeaving = recordEvents(leaving)

  const toStaying = nextEvent(staying, 'new_message')
  await postJson(url, '/api/sms/new-message', { room: 'chat_1', message: { text: 'after' } })
  await toStaying
  // Round-trip on the leaving socket: anything sent before the ack would already be here.
  await subscribe(leaving, 'other_room')
  t.same(seenByLeaving, [])
})

t.test('events in one room arrive in publish order', async (t) => {
  const { url } = await startBridge(t)
  const client = await connectClient(t, url)
  await subscribe(client, 'chat_order')
  const received = recordEvents(client)
  const count = 50
  const all = new Promise<void>((resolve) => {
    client.on('new_message', () => { if (received.length === count) resolve() })
  })
  for (let i = 0; i < count; i++) {
    await postJson(url, '/api/sms/new-message', { room: 'chat_order', message: { i } })
  }
  await all
  t.same(received.map((e) => (e.data as { message: { i: number } }).message.i), Array.from({ length: count }, (_, i) => i))
})

t.test('documented JSON behaviours: integers past 2^53 lose precision, the last of duplicate keys wins', async (t) => {
  const { url } = await startBridge(t)
  const client = await connectClient(t, url)
  await subscribe(client, 'chat_b')
  const send = (body: string) => fetch(`${url}/api/sms/status-update`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })

  let arrived = nextEvent(client, 'status_update')
  t.equal((await send('{"room":"chat_b","messageId":9007199254740993,"status":"read"}')).status, 202)
  t.equal((await arrived).messageId, 9007199254740992, 'read as the nearest JavaScript number')

  arrived = nextEvent(client, 'status_update')
  t.equal((await send('{"room":"chat_a","room":"chat_b","messageId":"9007199254740993","status":"read"}')).status, 202)
  t.match(await arrived, { room: 'chat_b', messageId: '9007199254740993' }, 'delivered to the last room named; a string id exactly as sent')
})
