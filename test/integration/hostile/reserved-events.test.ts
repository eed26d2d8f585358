// Event names socket.io or Pusher reserve, on every publish path, against the real server
// process in production mode: refused with a 400 naming the name on the Pusher HTTP API,
// dropped and counted from Laravel's redis broadcaster. A subscriber that would have taken
// one as a parse error (and reconnected, and had it replayed) stays connected.
import t, { type Test } from 'tap'
import {
  connectClient, freePort, metricValue, nextEvent, recordEvents, secrets, socketToken, startServer, subscribe, type TestClient
} from '../../helpers/bridge.ts'
import { laravelRedisEnv, publisherFor } from '../../helpers/laravel-redis.ts'
import { pusherEnv, signedPost } from '../../helpers/pusher.ts'

// A real server process on a machine shared with other tests.
t.setTimeout(120_000)

const METRICS_TOKEN = 'reserved-metrics-token-0123456789abcdef0123'
const room = 'reserved_room'
/** The room's channel to Laravel's broadcasters: one audience per name (docs/echo.md). */
const roomChannel = `private-${room}`
const reserved = [
  'connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener',
  'pusher:subscription_succeeded', 'pusher:', 'pusher_internal:member_added'
]

const port = await freePort()
const url = `http://127.0.0.1:${port}`
const redisEnv = laravelRedisEnv()
const server = startServer({
  NODE_ENV: 'production',
  PORT: String(port),
  HOST: '127.0.0.1',
  LOG_LEVEL: 'info',
  BRIDGE_API_TOKEN: secrets.apiToken,
  BRIDGE_JWT_SECRET: secrets.jwtSecret,
  BRIDGE_METRICS_TOKEN: METRICS_TOKEN,
  ...pusherEnv() as Record<string, string>,
  ...redisEnv
})
t.teardown(() => { server.child.kill('SIGKILL') })
await server.logLine('receiving Laravel broadcasts')
await server.logLine('Server listening')
const client: TestClient = await connectClient(t, url, { auth: { token: socketToken({ sub: 'watcher', rooms: [room] }) } })
t.same(await subscribe(client, room), { ok: true, room })
const received = recordEvents(client)
let disconnects = 0
client.on('disconnect', () => { disconnects++ })

/** Publishes a normal event and waits for it: whatever was refused before it was never delivered. */
async function stillDelivering (t: Test, what: string): Promise<void> {
  const arrived = nextEvent(client, 'after' as never)
  const answer = await signedPost(url, '/events', JSON.stringify({ name: 'after', channel: roomChannel, data: JSON.stringify({ what }) }))
  if (answer.status !== 200) throw new Error(`a normal trigger was refused: ${answer.text}`)
  t.same(await arrived, { what }, `${what}: a normal trigger still arrives`)
  t.equal(disconnects, 0, `${what}: the subscriber stayed connected`)
  t.same(received.filter(({ event }) => reserved.includes(event)), [], `${what}: no reserved name was delivered`)
}

t.test('the Pusher HTTP API: events and batch_events with a reserved name get 400 naming it', async (t) => {
  for (const name of reserved) {
    const trigger = await signedPost(url, '/events', JSON.stringify({ name, channels: [roomChannel, 'other'], data: '{}' }))
    t.equal(trigger.status, 400, `events: ${name}`)
    t.match(trigger.body, { error: `body/name ${JSON.stringify(name)} is reserved` }, `events: ${name}`)
    const batch = await signedPost(url, '/batch_events', JSON.stringify({
      batch: [{ name: 'fine', channel: roomChannel, data: '{}' }, { name, channel: roomChannel, data: '{}' }]
    }))
    t.equal(batch.status, 400, `batch_events: ${name}`)
    t.match(batch.body, { error: `body/batch/1/name ${JSON.stringify(name)} is reserved` }, `batch_events: ${name}`)
  }
  for (const name of ['connected', 'Connect', 'pusher', 'my-pusher:event', 'client-typing', 'App\\Events\\Disconnect']) {
    const arrived = nextEvent(client, name as never)
    t.equal((await signedPost(url, '/events', JSON.stringify({ name, channel: roomChannel, data: '{"n":1}' }))).status, 200, `${name} is not reserved`)
    t.same(await arrived, { n: 1 })
  }
  await stillDelivering(t, 'the Pusher API')
  t.same(received.filter(({ event }) => event === 'fine'), [], 'no item of a refused batch was delivered')
})

t.test('Laravel\'s redis broadcaster: a reserved name is dropped and counted as reserved_event', async (t) => {
  const publish = await publisherFor(t, redisEnv.BRIDGE_LARAVEL_REDIS_PREFIX)
  for (const event of reserved) await publish(roomChannel, { event, data: { n: 1 }, socket: null })
  const good = nextEvent(client, 'Shipped' as never)
  await publish(roomChannel, { event: 'Shipped', data: { ok: true }, socket: null })
  t.same(await good, { ok: true }, 'a good message after them is delivered')
  await stillDelivering(t, 'the redis broadcaster')
  const metrics = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text()
  t.equal(metricValue(metrics, 'bridge_laravel_redis_malformed_total{reason="reserved_event"}'), reserved.length, 'each counted')
  t.equal(metricValue(metrics, 'bridge_laravel_redis_messages_total{outcome="published"}'), 1, 'only the good one published')
})
