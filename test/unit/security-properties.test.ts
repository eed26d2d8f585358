// Property-based tests of the security rules: random JSON at every publish route, random
// payloads at subscribe/unsubscribe. Never a 5xx, never a crash, never a delivery to a room
// the socket may not join.
import fc from 'fast-check'
import t from 'tap'
import {
  buildApp,
  connectClient,
  nextEvent,
  recordEvents,
  secrets,
  securedEnv,
  signedHeaders,
  socketToken,
  startBridge,
  type TestClient
} from '../helpers/bridge.ts'

// Hundreds of requests and dozens of socket connections: generous on a busy machine.
t.setTimeout(120_000)

const routes = ['new-message', 'edit-message', 'reply-message', 'delete-message', 'status-update', 'batch']

const roomName = fc.oneof(
  fc.constantFrom('chat_1', 'team_7', 'allowed_1', 'granted_1', 'other'),
  fc.stringMatching(/^[A-Za-z0-9_.:@-]{1,16}$/),
  fc.string({ maxLength: 20 })
)
const messageRef = fc.oneof(fc.string({ maxLength: 10 }), fc.integer(), fc.jsonValue())

const validRoom = fc.stringMatching(/^[A-Za-z0-9_.:@-]{1,128}$/)
const validRef = fc.oneof(fc.string({ minLength: 1, maxLength: 128 }), fc.nat())
const message = fc.object({ maxDepth: 2 })
const uuid = fc.option(fc.uuid(), { nil: undefined })

/** A valid body of each kind, so that some random bodies get through validation. */
const validFields: Record<string, fc.Arbitrary<Record<string, unknown>>> = {
  'new-message': fc.record({ room: validRoom, message, uuid }),
  'edit-message': fc.record({ room: validRoom, message, messageId: validRef, uuid }),
  'reply-message': fc.record({ room: validRoom, message, replyTo: validRef, uuid }),
  'delete-message': fc.record({ room: validRoom, messageId: validRef, uuid }),
  'status-update': fc.record({ room: validRoom, messageId: validRef, status: fc.string({ minLength: 1, maxLength: 64 }), uuid })
}
const validBatch = fc.array(
  fc.constantFrom(...Object.keys(validFields)).chain((type) => validFields[type]!.map((fields) => ({ type, ...fields }))),
  { minLength: 1, maxLength: 5 }
).map((events) => ({ events }))

/** Random fields with the right names, often of the wrong kind. */
const eventFields = fc.record({
  room: roomName,
  message: fc.oneof(message, fc.jsonValue()),
  messageId: messageRef,
  replyTo: messageRef,
  status: fc.string({ maxLength: 70 }),
  uuid: fc.oneof(fc.uuid(), fc.string({ maxLength: 10 })),
  type: fc.constantFrom(...routes, 'nope'),
  extra: fc.jsonValue()
}, { requiredKeys: [] })

/** A route and a body for it: valid, valid plus a stray field, random fields, any JSON, or not JSON. */
const routeAndBody = fc.constantFrom(...routes).chain((route) => fc.tuple(fc.constant(route), fc.oneof(
  (route === 'batch' ? validBatch : validFields[route]!).map((body) => JSON.stringify(body)),
  fc.tuple(route === 'batch' ? validBatch : validFields[route]!, fc.string({ minLength: 1, maxLength: 8 }), fc.jsonValue())
    .map(([body, key, value]) => JSON.stringify({ ...body, [key]: value })),
  eventFields.map((fields) => JSON.stringify(fields)),
  fc.array(eventFields, { maxLength: 4 }).map((events) => JSON.stringify({ events })),
  fc.jsonValue().map((value) => JSON.stringify(value)),
  fc.string({ maxLength: 50 })
)))

type Auth = 'none' | 'wrong token' | 'unsigned' | 'signed' | 'signed, then changed'

t.test('random JSON at every publish route: a 4xx or an acceptance, never a 5xx; 401 unless authenticated', async (t) => {
  const fastify = await buildApp(t, securedEnv())
  let accepted = 0
  await fc.assert(fc.asyncProperty(
    routeAndBody,
    fc.constantFrom<Auth>('none', 'wrong token', 'unsigned', 'signed', 'signed, then changed'),
    async ([route, body], auth) => {
      const signed = signedHeaders(body, { url: `/api/sms/${route}` })
      const headers = {
        none: {},
        'wrong token': { ...signed, authorization: 'Bearer wrong' },
        unsigned: { authorization: signed.authorization },
        signed,
        'signed, then changed': signed
      }[auth]
      const payload = auth === 'signed, then changed' ? `${body} ` : body
      const answer = await fastify.inject({
        method: 'POST',
        url: `/api/sms/${route}`,
        headers: { 'content-type': 'application/json', ...headers },
        payload
      })
      const json = answer.json()
      if (answer.statusCode >= 500) throw new Error(`${answer.statusCode}: ${answer.body}`)
      if (auth !== 'signed') {
        if (answer.statusCode !== 401 || json.statusCode !== 401) throw new Error(`expected 401, got ${answer.statusCode}`)
        return
      }
      if (answer.statusCode === 202 || answer.statusCode === 200) {
        accepted++
        if (json.ok !== true) throw new Error(`accepted without ok: ${answer.body}`)
      } else if (answer.statusCode !== 400 || typeof json.message !== 'string') {
        throw new Error(`unexpected answer ${answer.statusCode}: ${answer.body}`)
      }
    }
  ), { numRuns: 400 })
  t.ok(accepted > 0, `some random bodies were valid and accepted (${accepted})`)
  t.equal((await fastify.inject({ method: 'GET', url: '/health' })).statusCode, 200, 'the bridge still answers')
})

// The socket under test may join `allowed_1` and `team_*` by its connection token, and
// `granted_1` / `granted_2` with the per-room tokens below for its own user; nothing else.
const userId = 'user-1'
const mayJoin = (room: string, granted: Set<string>) => room === 'allowed_1' || room.startsWith('team_') || granted.has(room)

const roomTokens = {
  valid: socketToken({ sub: userId, room: 'granted_1' }),
  'another user': socketToken({ sub: 'user-2', room: 'granted_1' }),
  'another room': socketToken({ sub: userId, room: 'granted_2' }),
  'another secret': socketToken({ sub: userId, room: 'granted_1' }, `${secrets.jwtSecret}x`)
}
const roomToken = fc.oneof(
  fc.constantFrom(...Object.values(roomTokens)),
  fc.string({ maxLength: 30 }),
  fc.anything()
)
const subscribeRoom = fc.oneof(fc.constantFrom('allowed_1', 'team_', 'team_x', 'teamx', 'granted_1', 'granted_2', 'other'), roomName)
const payload = fc.oneof(
  fc.record({ room: subscribeRoom, token: roomToken }, { requiredKeys: ['room'] }),
  fc.record({ room: fc.anything(), token: fc.anything() }, { requiredKeys: [] }),
  fc.anything()
)
const command = fc.record({
  event: fc.constantFrom('subscribe', 'unsubscribe'),
  args: fc.oneof(payload.map((value) => [value]), fc.array(fc.anything(), { maxLength: 3 })),
  withAck: fc.boolean()
})

const ACK_CODES = ['INVALID_PAYLOAD', 'INVALID_ROOM', 'FORBIDDEN', 'TOO_MANY_ROOMS']

t.test('random subscribe/unsubscribe payloads: well-formed acks, and events only from rooms the socket may join', async (t) => {
  const { url } = await startBridge(t, securedEnv({ BRIDGE_API_SIGNING_SECRET: '' }))
  const token = socketToken({ sub: userId, rooms: ['allowed_1', 'team_*'] })
  const publisher = { authorization: `Bearer ${secrets.apiToken}`, 'content-type': 'application/json' }

  await fc.assert(fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 12 }), async (commands) => {
    const socket: TestClient = await connectClient(t, url, { auth: { token } })
    const raw = socket as unknown as { emit: (event: string, ...args: unknown[]) => void }
    try {
      const granted = new Set<string>()
      const mentioned = new Set<string>(['granted_1', 'granted_2', 'other', 'team_x'])
      for (const { event, args, withAck } of commands) {
        const request = args[0] as { room?: unknown, token?: unknown } | undefined
        if (typeof request?.room === 'string' && /^[A-Za-z0-9_.:@-]{1,128}$/.test(request.room)) mentioned.add(request.room)
        // A per-room token for this user grants exactly its room ('another room' grants granted_2).
        if (event === 'subscribe' && request?.token === roomTokens.valid && request.room === 'granted_1') granted.add('granted_1')
        if (event === 'subscribe' && request?.token === roomTokens['another room'] && request.room === 'granted_2') granted.add('granted_2')
        if (!withAck) {
          raw.emit(event, ...args)
          continue
        }
        const ack = await new Promise<unknown>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no ack for ${event}`)), 5000)
          raw.emit(event, ...args, (answer: unknown) => { clearTimeout(timer); resolve(answer) })
        })
        const answer = ack as { ok?: unknown, room?: unknown, error?: { code?: unknown, message?: unknown } }
        if (answer.ok === true) {
          if (typeof answer.room !== 'string') throw new Error(`ok ack without room: ${JSON.stringify(ack)}`)
          if (event === 'subscribe' && !mayJoin(answer.room, granted)) throw new Error(`joined forbidden room ${answer.room}`)
        } else if (answer.ok !== false || !ACK_CODES.includes(String(answer.error?.code)) || typeof answer.error?.message !== 'string') {
          throw new Error(`malformed ack ${JSON.stringify(ack)}`)
        }
      }

      // Publish into every room named, then into a room it is in: events arrive in order, so
      // once the last one is here, anything from a forbidden room would be here too.
      const synced = await socket.timeout(5000).emitWithAck('subscribe', { room: 'allowed_1' })
      if (!synced.ok) throw new Error('could not join allowed_1')
      const received = recordEvents(socket)
      const last = nextEvent(socket, 'status_update')
      const events = [...mentioned].map((room) => ({ type: 'new-message', room, message: { text: room } }))
      const response = await fetch(`${url}/api/sms/batch`, {
        method: 'POST',
        headers: publisher,
        body: JSON.stringify({ events: [...events, { type: 'status-update', room: 'allowed_1', messageId: 1, status: 'sync' }] })
      })
      if (response.status !== 202) throw new Error(`batch answered ${response.status}: ${await response.text()}`)
      await last
      for (const { data } of received) {
        const room = (data as { room: string }).room
        if (!mayJoin(room, granted)) throw new Error(`received an event from ${room}`)
      }
    } finally {
      socket.disconnect()
    }
  }), { numRuns: 40 })
  t.pass('no run received an event from a room it may not join')
})
