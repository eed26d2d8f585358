// socket.io subscribe/unsubscribe: acks, error codes, the room limit, and garbage payloads.
import t from 'tap'
import { connectClient, nextEvent, postJson, startBridge, subscribe, unsubscribe, type TestClient } from '../helper.ts'

/** Emits raw arguments, bypassing the typed event map, the way a buggy client could. */
function emitRaw (client: TestClient, event: string, ...args: unknown[]) {
  (client.emit as (event: string, ...args: unknown[]) => void)(event, ...args)
}

function emitRawWithAck (client: TestClient, event: string, ...args: unknown[]): Promise<unknown> {
  return (client.timeout(5000).emitWithAck as (event: string, ...args: unknown[]) => Promise<unknown>)(event, ...args)
}

t.test('subscribe and unsubscribe answer { ok: true, room }', async (t) => {
  const { url } = await startBridge(t)
  const client = await connectClient(t, url)
  t.same(await subscribe(client, 'chat_123'), { ok: true, room: 'chat_123' })
  t.same(await subscribe(client, 'chat_123'), { ok: true, room: 'chat_123' }, 'subscribing twice is fine')
  t.same(await unsubscribe(client, 'chat_123'), { ok: true, room: 'chat_123' })
  t.same(await unsubscribe(client, 'never_joined'), { ok: true, room: 'never_joined' })
})

t.test('payloads that are not { room: string } get INVALID_PAYLOAD', async (t) => {
  const { url } = await startBridge(t)
  const client = await connectClient(t, url)
  for (const payload of [null, 42, 'chat_1', [], ['chat_1'], {}, { room: 42 }, { room: null }, { room: ['chat_1'] }, { room: { name: 'x' } }, true]) {
    for (const event of ['subscribe', 'unsubscribe']) {
      const ack = await emitRawWithAck(client, event, payload)
      t.match(ack, { ok: false, error: { code: 'INVALID_PAYLOAD', message: String } }, `${event} ${JSON.stringify(payload)}`)
    }
  }
})

t.test('room names that break the rules get INVALID_ROOM', async (t) => {
  const { url } = await startBridge(t)
  const client = await connectClient(t, url)
  for (const room of ['', 'chat 1', 'chat/1', 'r'.repeat(129), 'чат', 'chat_1\n', '*']) {
    t.match(await subscribe(client, room), { ok: false, error: { code: 'INVALID_ROOM' } }, JSON.stringify(room))
  }
  t.match(await unsubscribe(client, 'bad room'), { ok: false, error: { code: 'INVALID_ROOM' } })
})

t.test('a socket may join at most BRIDGE_MAX_ROOMS_PER_SOCKET rooms', async (t) => {
  const { url } = await startBridge(t, { BRIDGE_MAX_ROOMS_PER_SOCKET: '3' })
  const client = await connectClient(t, url)
  for (const room of ['r1', 'r2', 'r3']) t.same(await subscribe(client, room), { ok: true, room })
  t.match(await subscribe(client, 'r4'), { ok: false, error: { code: 'TOO_MANY_ROOMS' } })
  t.same(await subscribe(client, 'r3'), { ok: true, room: 'r3' }, 'a room already joined still answers ok')
  await unsubscribe(client, 'r1')
  t.same(await subscribe(client, 'r4'), { ok: true, room: 'r4' }, 'leaving a room frees a place')

  const other = await connectClient(t, url)
  t.same(await subscribe(other, 'r5'), { ok: true, room: 'r5' }, 'the limit is per socket')
})

t.test('the default room limit is 100', async (t) => {
  const { url } = await startBridge(t)
  const client = await connectClient(t, url)
  for (let i = 0; i < 100; i++) {
    const ack = await subscribe(client, `room_${i}`)
    if (!ack.ok) t.fail(`room_${i} refused`)
  }
  t.match(await subscribe(client, 'room_100'), { ok: false, error: { code: 'TOO_MANY_ROOMS' } })
})

t.test('garbage never throws, never disconnects, and never disturbs other sockets', async (t) => {
  const { url } = await startBridge(t)
  const bystander = await connectClient(t, url)
  await subscribe(bystander, 'chat_1')
  const vandal = await connectClient(t, url)
  let vandalDisconnected = false
  vandal.on('disconnect', () => { vandalDisconnected = true })

  // No payload, no ack, odd argument counts, unknown events.
  emitRaw(vandal, 'subscribe')
  emitRaw(vandal, 'subscribe', { room: 'chat_1' })
  emitRaw(vandal, 'subscribe', 'a', 'b', 'c')
  emitRaw(vandal, 'unsubscribe')
  emitRaw(vandal, 'unsubscribe', null, null)
  emitRaw(vandal, 'hello', { room: 'chat_1' })
  emitRaw(vandal, 'new_message', { room: 'chat_1', message: { text: 'forged' } })
  t.match(await emitRawWithAck(vandal, 'subscribe'), { ok: false, error: { code: 'INVALID_PAYLOAD' } }, 'only an ack')
  t.match(await emitRawWithAck(vandal, 'subscribe', { room: 'x' }, 'extra'), { ok: true, room: 'x' }, 'extra arguments are ignored')

  // The vandal is still connected and working; the bystander was not sent the forged event.
  t.same(await subscribe(vandal, 'chat_2'), { ok: true, room: 'chat_2' })
  t.equal(vandalDisconnected, false)
  const received = nextEvent(bystander, 'new_message')
  await postJson(url, '/api/sms/new-message', { room: 'chat_1', message: { text: 'real' } })
  t.match(await received, { message: { text: 'real' } }, 'the next event the bystander sees is the real one')
})

t.test('an oversized client message is dropped without affecting other sockets', async (t) => {
  const { url } = await startBridge(t)
  const bystander = await connectClient(t, url)
  await subscribe(bystander, 'chat_1')
  const vandal = await connectClient(t, url)
  const dropped = new Promise((resolve) => vandal.on('disconnect', resolve))
  emitRaw(vandal, 'subscribe', { room: 'chat_1', token: 'x'.repeat(100_000) })
  await dropped
  const received = nextEvent(bystander, 'new_message')
  await postJson(url, '/api/sms/new-message', { room: 'chat_1', message: { text: 'still here' } })
  t.match(await received, { message: { text: 'still here' } })
})
