// Hostile sockets against the real server process in production mode, on 127.0.0.1 only:
// handshake floods, subscribe floods, and deep or wide JSON on every socket event. After each
// attack the process lives, its memory stays under a bound, and a bystander is still served.
import fc from 'fast-check'
import t, { type Test } from 'tap'
import { Agent, fetch as undiciFetch } from 'undici'
import { WebSocket } from 'ws'
import {
  connectClient, metricValue, nextEvent, postJson, secrets, socketToken, subscribe, waitFor, type TestClient
} from '../../helpers/bridge.ts'
import { startProductionBridge } from '../../helpers/production-bridge.ts'

// A process compiling TypeScript on a busy machine, and a few thousand handshakes.
t.setTimeout(240_000)

/** Resident memory the bridge may reach during these attacks (a flood used to take it past 2 GB). */
const MAX_RSS_BYTES = 512 * 1024 * 1024
/** Engine.IO handshakes in the flood, and how many are in flight at once (keep-alive clients). */
const FLOOD_HANDSHAKES = 3000
const FLOOD_CLIENTS = 32
const MAX_PENDING = 400
/** socket.io's maxHttpBufferSize on the bridge: bigger messages drop their sender. */
const MAX_MESSAGE_BYTES = 16 * 1024

const { url, server } = await startProductionBridge(t, {
  LOG_LEVEL: 'warn',
  CORS_ORIGINS: 'https://app.example.com',
  BRIDGE_MAX_PENDING_CONNECTIONS: String(MAX_PENDING)
})

const publisher = { authorization: `Bearer ${secrets.apiToken}` }
const token = socketToken({ sub: 'bystander', rooms: ['chat_*'] })
const attackerToken = socketToken({ sub: 'attacker', rooms: ['*'] })

async function metrics (): Promise<string> {
  return await (await fetch(`${url}/metrics`)).text()
}

/** The process is alive, under its memory bound, and the bystander still receives what is published. */
async function stillServing (t: Test, bystander: TestClient, what: string): Promise<void> {
  t.equal(server.child.exitCode, null, `${what}: the process lives`)
  t.equal((await fetch(`${url}/health`)).status, 200, `${what}: /health answers`)
  const rss = metricValue(await metrics(), 'process_resident_memory_bytes')
  t.ok(rss > 0 && rss < MAX_RSS_BYTES, `${what}: RSS ${Math.round(rss / 1024 / 1024)} MiB is under ${MAX_RSS_BYTES / 1024 / 1024} MiB`)
  const text = `after ${what}`
  const arrived = nextEvent(bystander, 'new_message')
  const answer = await postJson(url, '/api/sms/new-message', { room: 'chat_1', message: { text } }, publisher)
  t.equal(answer.status, 202, `${what}: a publish is accepted`)
  t.match(await arrived, { room: 'chat_1', message: { text } }, `${what}: the bystander receives it`)
}

async function bystanderOf (t: Test): Promise<TestClient> {
  const bystander = await connectClient(t, url, { auth: { token } })
  t.same(await subscribe(bystander, 'chat_1'), { ok: true, room: 'chat_1' })
  return bystander
}

t.test('a flood of unauthenticated handshakes is capped, expires, and costs nobody else', async (t) => {
  const bystander = await bystanderOf(t)
  const agent = new Agent({ connections: FLOOD_CLIENTS, pipelining: 1 })
  t.teardown(() => agent.close())
  const statuses = new Map<number, number>()
  let highestPending = 0
  let next = 0
  async function floodClient (): Promise<void> {
    while (next < FLOOD_HANDSHAKES) {
      next++
      const response = await undiciFetch(`${url}/socket.io/?EIO=4&transport=polling`, { dispatcher: agent })
      await response.arrayBuffer()
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1)
    }
  }
  async function watchPending (): Promise<void> {
    for (let sample = 0; sample < 10_000; sample++) {
      if (next >= FLOOD_HANDSHAKES) return
      highestPending = Math.max(highestPending, metricValue(await metrics(), 'bridge_socket_pending_connections'))
    }
  }
  // Websocket handshakes that never send the socket.io connect, too.
  const websockets = Array.from({ length: 100 }, () => new Promise<void>((resolve) => {
    const socket = new WebSocket(`${url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`)
    socket.once('unexpected-response', () => { socket.terminate(); resolve() })
    socket.once('close', () => resolve())
    socket.once('error', () => resolve())
  }))
  await Promise.all([...Array.from({ length: FLOOD_CLIENTS }, floodClient), watchPending()])
  t.equal([...statuses.values()].reduce((sum, count) => sum + count, 0), FLOOD_HANDSHAKES, 'every handshake was answered')
  t.same([...statuses.keys()].filter((status) => status !== 200 && status !== 503), [], 'served (200) or refused (503), nothing else')
  t.ok((statuses.get(503) ?? 0) > 0, `past the cap, handshakes are refused (${statuses.get(503) ?? 0} of ${FLOOD_HANDSHAKES})`)
  t.ok(highestPending <= MAX_PENDING, `pending connections stayed within the cap (highest seen: ${highestPending})`)
  await stillServing(t, bystander, 'the handshake flood')
  // The websockets that were let in are closed by the connect timeout, like the polling sessions.
  await Promise.all(websockets)
  await waitFor(async () => metricValue(await metrics(), 'bridge_socket_pending_connections') === 0, 'the pending sessions to expire')
  const after = await connectClient(t, url, { auth: { token } })
  t.ok(after.connected, 'a real client connects once the flood is over')
})

t.test('a subscribe flood gets RATE_LIMITED acks; the process and other clients carry on', async (t) => {
  const bystander = await bystanderOf(t)
  const flooder = await connectClient(t, url, { auth: { token: attackerToken } })
  const acks = await Promise.all(Array.from({ length: 2000 }, (_, i) => subscribe(flooder, `flood_${i}`)))
  const limited = acks.filter((ack) => !ack.ok && ack.error.code === 'RATE_LIMITED').length
  t.ok(limited > 1000, `most of the flood is refused with RATE_LIMITED (${limited} of 2000)`)
  t.ok(acks.every((ack) => ack.ok || ['RATE_LIMITED', 'TOO_MANY_ROOMS'].includes(ack.error.code)), 'every call is answered')
  await stillServing(t, bystander, 'the subscribe flood')
})

/** JSON text nested `depth` levels deep, or `width` entries wide: built as text, so no encoder recurses. */
function hostileJson (shape: 'deep-array' | 'deep-object' | 'wide-array' | 'wide-object', size: number): string {
  switch (shape) {
    case 'deep-array': return '['.repeat(size) + ']'.repeat(size)
    case 'deep-object': return '{"a":'.repeat(size) + '1' + '}'.repeat(size)
    case 'wide-array': return `[${Array.from({ length: size }, (_, i) => i).join(',')}]`
    case 'wide-object': return `{${Array.from({ length: size }, (_, i) => `"k${i}":{}`).join(',')}}`
  }
}

/** Where the hostile value goes in each socket event's payload (rooms and Laravel Echo). */
const placements: Record<string, (value: string) => string> = {
  'subscribe (value as payload)': (value) => `["subscribe",${value}]`,
  'subscribe room': (value) => `["subscribe",{"room":${value}}]`,
  'subscribe token': (value) => `["subscribe",{"room":"chat_1","token":${value}}]`,
  'unsubscribe room': (value) => `["unsubscribe",{"room":${value}}]`,
  'Echo subscribe channel': (value) => `["subscribe",{"channel":${value}}]`,
  'Echo subscribe auth': (value) => `["subscribe",{"channel":"private-chat.1","auth":${value}}]`,
  'Echo unsubscribe channel': (value) => `["unsubscribe",{"channel":${value}}]`,
  'whisper data': (value) => `["client event",{"channel":"private-chat.1","event":"client-typing","data":${value}}]`,
  'whisper channel': (value) => `["client event",{"channel":${value},"event":"client-typing","data":{}}]`,
  'unknown event': (value) => `["whatever",${value}]`
}

t.test('deep and wide JSON on every socket event: answered or dropped, never a crash (property-based)', async (t) => {
  const bystander = await bystanderOf(t)
  let attacker = await connectClient(t, url, { auth: { token: attackerToken } })
  let probes = 0

  await fc.assert(fc.asyncProperty(
    fc.constantFrom(...Object.keys(placements)),
    fc.constantFrom('deep-array', 'deep-object', 'wide-array', 'wide-object') as fc.Arbitrary<Parameters<typeof hostileJson>[0]>,
    fc.integer({ min: 1, max: 6000 }),
    async (placement, shape, size) => {
      const message = `2${placements[placement]?.(hostileJson(shape, size)) ?? ''}`
      if (!attacker.connected) attacker = await connectClient(t, url, { auth: { token: attackerToken } })
      const engine = attacker.io.engine
      const dropped = new Promise<'dropped'>((resolve) => attacker.once('disconnect', () => resolve('dropped')))
      // Raw socket.io packets: the client's own encoder would overflow its stack on them.
      engine.write(message)
      // A subscribe with an ack right after it: answered (ok or RATE_LIMITED) once the hostile one was read.
      const probeId = 1_000_000 + probes++
      const answered = new Promise<'answered'>((resolve) => {
        const listener = (packet: string) => {
          // socket.io's ACK packet (type 3) with the probe's id.
          if (typeof packet === 'string' && packet.startsWith(`3${probeId}[`)) {
            engine.off('message', listener)
            resolve('answered')
          }
        }
        engine.on('message', listener)
      })
      engine.write(`2${probeId}["subscribe",{"room":"chat_probe"}]`)
      const outcome = await Promise.race([answered, dropped])
      if (outcome === 'dropped') {
        // Only a message past socket.io's size limit drops its sender.
        return Buffer.byteLength(message) > MAX_MESSAGE_BYTES
      }
      return server.child.exitCode === null
    }
  ), { numRuns: 150, seed: Number(process.env.HOSTILE_SEED ?? Date.now() % 2 ** 31) })
  t.pass('every hostile payload was answered, or dropped its sender for its size')
  await stillServing(t, bystander, 'deep and wide JSON')
})

/** A raw Engine.IO websocket session: the frames it receives, and a way to send one. */
async function rawSession (t: Test): Promise<{ frames: string[], send: (frame: string) => void, closed: Promise<void>, next: (match: (frame: string) => boolean) => Promise<string | 'closed'> }> {
  const socket = new WebSocket(`${url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`)
  t.teardown(() => socket.terminate())
  const frames: string[] = []
  const waiters: Array<() => void> = []
  socket.on('message', (data) => {
    frames.push(String(data))
    for (const wake of waiters.splice(0)) wake()
  })
  const closed = new Promise<void>((resolve) => socket.once('close', () => {
    resolve()
    for (const wake of waiters.splice(0)) wake()
  }))
  await new Promise((resolve, reject) => { socket.once('open', resolve); socket.once('error', reject) })
  async function next (match: (frame: string) => boolean): Promise<string | 'closed'> {
    for (;;) {
      const found = frames.find(match)
      if (found !== undefined) return found
      if (socket.readyState !== WebSocket.OPEN) return 'closed'
      await new Promise<void>((resolve) => waiters.push(resolve))
    }
  }
  return { frames, send: (frame) => socket.send(frame), closed, next }
}

t.test('deep and wide JSON as the connect packet\'s auth: refused "unauthorized" or dropped for size (property-based)', async (t) => {
  const bystander = await bystanderOf(t)
  await fc.assert(fc.asyncProperty(
    fc.constantFrom('auth', 'auth.token', 'auth.headers', 'auth.headers.Authorization'),
    fc.constantFrom('deep-array', 'deep-object', 'wide-array', 'wide-object') as fc.Arbitrary<Parameters<typeof hostileJson>[0]>,
    fc.integer({ min: 1, max: 6000 }),
    async (placement, shape, size) => {
      const value = hostileJson(shape, size)
      const auth = {
        auth: value,
        'auth.token': `{"token":${value}}`,
        'auth.headers': `{"headers":${value}}`,
        'auth.headers.Authorization': `{"headers":{"Authorization":${value}}}`
      }[placement]
      const session = await rawSession(t)
      // Engine.IO message (4) carrying socket.io CONNECT (0) with the auth payload.
      const frame = `40${auth}`
      session.send(frame)
      const answer = await session.next((received) => received.startsWith('44') || received.startsWith('40'))
      session.send('1') // Engine.IO close
      // Dropped: past the size limit, or an auth that is not an object (socket.io's parser
      // refuses the packet and closes that connection).
      if (answer === 'closed') return Buffer.byteLength(frame) > MAX_MESSAGE_BYTES || (placement === 'auth' && shape.endsWith('array'))
      // Otherwise no valid token: CONNECT_ERROR, which the client sees as "unauthorized".
      return answer.startsWith('44') && answer.includes('unauthorized') && server.child.exitCode === null
    }
  ), { numRuns: 60, seed: Number(process.env.HOSTILE_SEED ?? Date.now() % 2 ** 31) })
  t.pass('every hostile connect was refused, or dropped for its size')
  await stillServing(t, bystander, 'deep and wide connect payloads')
})
