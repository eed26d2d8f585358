// De-duplication under a flood of publishes, against the real server process in production
// mode: a claim (a uuid, a request signature) is kept for its whole window however much
// traffic comes between; when the memory kept for claims is full, new publishes get 503 with
// Retry-After and deliver nothing, and are accepted again once claims expire.
import t, { type Test } from 'tap'
import { connectClient, freePort, nextEvent, recordEvents, secrets, signedHeaders, socketToken, startServer, subscribe, type TestClient } from '../../helpers/bridge.ts'
import { pusherEnv, signedPost } from '../../helpers/pusher.ts'

// Real server processes on a machine shared with other tests.
t.setTimeout(180_000)

/** BRIDGE_IDEMPOTENCY_MAX_ENTRIES of these bridges: low, so a flood past it is quick. */
const MAX_ENTRIES = 1000
const room = 'claims_room'
/** The room's channel to the Pusher API: one audience per name (docs/echo.md). */
const roomChannel = `private-${room}`

interface Bridge {
  url: string
  client: TestClient
  received: Array<{ event: string, data: unknown }>
}

async function startClaimsBridge (t: Test, env: Record<string, string>): Promise<Bridge> {
  const port = await freePort()
  const server = startServer({
    NODE_ENV: 'production',
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    BRIDGE_API_TOKEN: secrets.apiToken,
    BRIDGE_JWT_SECRET: secrets.jwtSecret,
    BRIDGE_IDEMPOTENCY_MAX_ENTRIES: String(MAX_ENTRIES),
    ...pusherEnv() as Record<string, string>,
    ...env
  })
  t.teardown(() => { server.child.kill('SIGKILL') })
  await server.logLine('Server listening')
  const url = `http://127.0.0.1:${port}`
  const client = await connectClient(t, url, { auth: { token: socketToken({ sub: 'watcher', rooms: [room] }) } })
  t.same(await subscribe(client, room), { ok: true, room })
  return { url, client, received: recordEvents(client) }
}

interface Answer {
  status: number
  retryAfter: string | null
  body: Record<string, unknown>
}

async function post (url: string, path: string, body: string, headers: Record<string, string>): Promise<Answer> {
  const response = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body })
  return { status: response.status, retryAfter: response.headers.get('retry-after'), body: await response.json() as Record<string, unknown> }
}

function batchOf (uuids: string[]): string {
  return JSON.stringify({ events: uuids.map((uuid) => ({ type: 'new-message', room, uuid, message: { uuid } })) })
}

/** Waits for an event published through the Pusher API, which takes no claims: everything published before it has arrived. */
async function settled (bridge: Bridge, marker: string): Promise<void> {
  const arrived = nextEvent(bridge.client, marker as never, 10_000)
  const answer = await signedPost(bridge.url, '/events', JSON.stringify({ name: marker, channel: roomChannel, data: '{}' }))
  if (answer.status !== 200) throw new Error(`marker refused: ${answer.text}`)
  await arrived
}

function uuidsReceived (bridge: Bridge): string[] {
  return bridge.received.filter(({ event }) => event === 'new_message').map(({ data }) => (data as { uuid: string }).uuid)
}

t.test('a signed publish replayed after more publishes than the store holds is still a duplicate', async (t) => {
  const bridge = await startClaimsBridge(t, { BRIDGE_API_SIGNING_SECRET: secrets.signingSecret })
  const path = '/api/sms/new-message'
  const body = JSON.stringify({ room, uuid: 'captured-1', message: { text: 'once' } })
  const captured = signedHeaders(body, { url: path })
  t.equal((await post(bridge.url, path, body, captured)).status, 202, 'the original is accepted')

  // Each signed batch claims its signature and 100 uuids: 12 of them ask for more than the store holds.
  const answers: Answer[] = []
  for (let batch = 0; batch < 12; batch++) {
    const text = batchOf(Array.from({ length: 100 }, (_unused, item) => `flood-${batch}-${item}`))
    answers.push(await post(bridge.url, '/api/sms/batch', text, signedHeaders(text, { url: '/api/sms/batch' })))
  }
  const accepted = answers.filter(({ status }) => status === 202).length
  const refused = answers.filter(({ status }) => status === 503)
  t.equal(accepted + refused.length, answers.length, 'every batch is accepted or refused with 503')
  t.ok(accepted >= 9, `${accepted} batches accepted before the store is full`)
  t.ok(refused.length >= 2, `${refused.length} batches refused once it is`)
  for (const answer of refused) {
    t.match(answer.body, { statusCode: 503, code: 'BRIDGE_CLAIMS_FULL', message: /de-duplication claims is full/ })
    t.ok(Number(answer.retryAfter) >= 1, `Retry-After: ${answer.retryAfter}`)
  }

  t.match(await post(bridge.url, path, body, captured), { status: 200, body: { duplicate: true, uuid: 'captured-1' } },
    'the captured request replayed: a duplicate')

  await settled(bridge, 'replay_marker')
  const uuids = uuidsReceived(bridge)
  t.equal(uuids.filter((uuid) => uuid === 'captured-1').length, 1, 'the captured publish was delivered once')
  t.equal(uuids.length, 1 + accepted * 100, 'only the accepted batches were delivered, each item once')
  const batches = new Set(uuids.filter((uuid) => uuid.startsWith('flood-')).map((uuid) => Number(uuid.split('-')[1])))
  t.same([...batches].sort((a, b) => a - b), Array.from({ length: accepted }, (_unused, batch) => batch), 'no item of a refused batch was delivered')
})

t.test('past BRIDGE_IDEMPOTENCY_MAX_ENTRIES: 503 with Retry-After, nothing delivered, accepted again once claims expire', async (t) => {
  const bridge = await startClaimsBridge(t, { BRIDGE_IDEMPOTENCY_TTL: '5' })
  const headers = { authorization: `Bearer ${secrets.apiToken}` }
  for (let batch = 0; batch < MAX_ENTRIES / 100; batch++) {
    const answer = await post(bridge.url, '/api/sms/batch', batchOf(Array.from({ length: 100 }, (_unused, item) => `fill-${batch}-${item}`)), headers)
    t.equal(answer.status, 202, `batch ${batch} fits`)
  }

  const single = await post(bridge.url, '/api/sms/new-message', JSON.stringify({ room, uuid: 'one-more', message: {} }), headers)
  t.match(single, { status: 503, body: { statusCode: 503, error: 'Service Unavailable', code: 'BRIDGE_CLAIMS_FULL' } }, 'a publish past the cap')
  const retryAfter = Number(single.retryAfter)
  // Claims expire on whole seconds: the window, rounded up.
  t.ok(retryAfter >= 1 && retryAfter <= 6, `Retry-After ${single.retryAfter}: when the oldest claim expires`)
  const generated = await post(bridge.url, '/api/sms/new-message', JSON.stringify({ room, message: {} }), headers)
  t.equal(generated.status, 503, 'a publish without a uuid too (the bridge claims the one it makes)')
  t.match(await post(bridge.url, '/api/sms/batch', batchOf(['late-1', 'late-2']), headers), { status: 503 }, 'a batch too')
  t.match(await post(bridge.url, '/api/sms/new-message', JSON.stringify({ room, uuid: 'fill-0-0', message: {} }), headers),
    { status: 200, body: { duplicate: true } }, 'a retry of an accepted publish is still answered as a duplicate')

  await settled(bridge, 'full_marker')
  t.equal(uuidsReceived(bridge).length, MAX_ENTRIES, 'nothing refused was delivered')

  // Retry-After says when room frees up: a publish then is accepted.
  await new Promise((resolve) => setTimeout(resolve, retryAfter * 1000))
  const arrived = nextEvent(bridge.client, 'new_message')
  t.match(await post(bridge.url, '/api/sms/new-message', JSON.stringify({ room, uuid: 'one-more', message: {} }), headers),
    { status: 202, body: { uuid: 'one-more' } }, 'accepted once claims expired')
  t.match(await arrived, { uuid: 'one-more' }, 'and delivered')
})
