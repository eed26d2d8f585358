// socket.io subscribe/unsubscribe: acks, error codes, the room limit, and garbage payloads.
import t from 'tap'
import { connectClient, metricValue, nextEvent, postJson, startBridge, subscribe, unsubscribe, waitFor, type TestClient } from '../../../../helpers/bridge.ts'

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
  const { url } = await startBridge(t, { BRIDGE_MAX_SUBSCRIBES_PER_SECOND: '1000' })
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
  // 100 subscribes in a row: past the default rate limit, which is tested below.
  const { url } = await startBridge(t, { BRIDGE_MAX_SUBSCRIBES_PER_SECOND: '1000' })
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

t.test('a socket flooding subscribe gets RATE_LIMITED acks, shared with Echo\'s subscribe; others are undisturbed; it may subscribe again later', async (t) => {
  const perSecond = 5
  const { fastify, url } = await startBridge(t, { BRIDGE_MAX_SUBSCRIBES_PER_SECOND: String(perSecond) })
  const bystander = await connectClient(t, url)
  t.same(await subscribe(bystander, 'chat_1'), { ok: true, room: 'chat_1' })
  const flooder = await connectClient(t, url)

  const flood = 200
  const acks = await Promise.all(Array.from({ length: flood }, (_, i) =>
    i % 2 === 0 ? subscribe(flooder, `flood_${i}`) : unsubscribe(flooder, `flood_${i - 1}`)))
  const limited = acks.filter((ack) => !ack.ok && ack.error.code === 'RATE_LIMITED')
  const served = acks.length - limited.length
  t.ok(served >= perSecond, `the burst is served (${served})`)
  // The bucket refills while the flood is read; a flood far past the rate is mostly refused.
  t.ok(limited.length > flood / 2, `most of the flood is refused (${limited.length} of ${flood})`)
  t.match(limited[0], { ok: false, error: { code: 'RATE_LIMITED', message: /at most 5 subscribe\/unsubscribe calls a second/ } })

  // Laravel Echo's subscribe on the same connection draws on the same allowance.
  const echoRefusal = new Promise<unknown[]>((resolve) => {
    flooder.on('subscription_error' as never, (...args: unknown[]) => { resolve(args) })
  })
  for (let i = 0; i < perSecond * 4; i++) emitRaw(flooder, 'subscribe', { channel: `echo_${i}` })
  t.match(await echoRefusal, [/^echo_/, 429])

  // Others are served meanwhile, and receive their events.
  t.same(await subscribe(bystander, 'chat_2'), { ok: true, room: 'chat_2' })
  const received = nextEvent(bystander, 'new_message')
  await postJson(url, '/api/sms/new-message', { room: 'chat_1', message: { text: 'still served' } })
  t.match(await received, { message: { text: 'still served' } })

  // The flooder, still connected, subscribes again once it slows down.
  t.ok(flooder.connected)
  let again: unknown
  await waitFor(async () => {
    again = await subscribe(flooder, 'after_the_flood')
    return (again as { ok: boolean }).ok
  }, 'a subscribe served after the flood')
  t.same(again, { ok: true, room: 'after_the_flood' })
  const metrics = (await fastify.inject({ method: 'GET', url: '/metrics' })).body
  t.ok(metricValue(metrics, 'bridge_subscribe_refusals_total{code="RATE_LIMITED"}') >= limited.length, 'refusals are counted')
})
