// The Pusher HTTP API against the real server process in production mode: `data` whose JSON
// could poison prototypes is refused like any request body, and a signature holds for the
// query as sent (a re-encoded query cannot stand for other parameters), while requests of the
// official `pusher` SDK, and values encoded as Pusher's PHP SDK encodes them, still verify.
import { createHmac } from 'node:crypto'
import t, { type Test } from 'tap'
import { connectClient, nextEvent, recordEvents, socketToken, subscribe, type TestClient } from '../../helpers/bridge.ts'
import { startProductionBridge } from '../../helpers/production-bridge.ts'
import { pusherApp, pusherClient, pusherEnv, signedGet, signedPath, signedPost } from '../../helpers/pusher.ts'

// A real server process on a machine shared with other tests.
t.setTimeout(120_000)

const room = 'pusher_hostile'
/** The room's channel to the Pusher API: one audience per name (docs/echo.md). */
const roomChannel = `private-${room}`

const { url } = await startProductionBridge(t, {
  LOG_LEVEL: 'info',
  ...pusherEnv() as Record<string, string>
})
const client: TestClient = await connectClient(t, url, { auth: { token: socketToken({ sub: 'watcher', rooms: [room] }) } })
t.same(await subscribe(client, room), { ok: true, room })
const received = recordEvents(client)
let disconnected = false
client.on('disconnect', () => { disconnected = true })

/** Publishes a normal event and waits for it: whatever was refused before it was never delivered. */
async function stillDelivering (t: Test, what: string): Promise<void> {
  const arrived = nextEvent(client, 'after' as never)
  const answer = await signedPost(url, '/events', JSON.stringify({ name: 'after', channel: roomChannel, data: JSON.stringify({ what }) }))
  if (answer.status !== 200) throw new Error(`a normal trigger was refused: ${answer.text}`)
  t.same(await arrived, { what }, `${what}: a normal trigger still arrives`)
  t.equal(disconnected, false, `${what}: the subscriber stayed connected`)
}

t.test('data whose JSON holds __proto__ or constructor.prototype: 400 naming the key, nothing delivered', async (t) => {
  const cases: Array<[string, string, RegExp]> = [
    ['__proto__ at the top', '{"__proto__":{"polluted":true}}', /^body\/data\/__proto__ is not allowed/],
    ['__proto__ nested', '{"order":{"items":[{"__proto__":{"polluted":true}}]}}', /^body\/data\/order\/items\/0\/__proto__ is not allowed/],
    ['__proto__ spelled with escapes', '{"\\u005f_proto__":{"polluted":true}}', /^body\/data\/__proto__ is not allowed/],
    ['constructor.prototype', '{"a":{"constructor":{"prototype":{"polluted":true}}}}', /^body\/data\/a\/constructor is not allowed/]
  ]
  for (const [what, data, message] of cases) {
    const trigger = await signedPost(url, '/events', JSON.stringify({ name: 'poison', channel: roomChannel, data }))
    t.equal(trigger.status, 400, `events: ${what}`)
    t.match(trigger.body, { error: message }, `events: ${what}`)
    const batch = await signedPost(url, '/batch_events', JSON.stringify({
      batch: [{ name: 'fine', channel: roomChannel, data: '{}' }, { name: 'poison', channel: roomChannel, data }]
    }))
    t.equal(batch.status, 400, `batch_events: ${what}`)
    t.match(batch.body, { error: new RegExp(message.source.replace('^body\\/data', '^body\\/batch\\/1\\/data')) }, `batch_events: ${what}`)
  }
  const harmless = await signedPost(url, '/events', JSON.stringify({ name: 'harmless', channel: roomChannel, data: '{"constructor":"Klass","proto":1}' }))
  t.equal(harmless.status, 200, 'a constructor key without a prototype is fine')
  await stillDelivering(t, 'poisoned data')
  t.same(received.filter(({ event }) => event === 'poison' || event === 'fine'), [], 'nothing of a refused trigger or batch was delivered')
})

t.test('a query re-encoded so that one signature stands for other parameters: 401', async (t) => {
  const signed = signedPath('GET', '/channels', undefined, {}, { filter_by_prefix: 'presence-', info: 'user_count' })
  t.equal((await fetch(`${url}${signed}`)).status, 200, 'the request as signed is accepted')
  const reencoded = signed.replace('filter_by_prefix=presence-&info=user_count', 'filter_by_prefix=presence-%26info%3Duser_count')
  t.not(reencoded, signed)
  const answer = await fetch(`${url}${reencoded}`)
  t.equal(answer.status, 401, 'one parameter whose value decodes to both: refused')
  t.match(await answer.json(), { error: /query parameter filter_by_prefix holds an encoded & or =/ })

  const key = signedPath('GET', '/channels', undefined, {}, { 'filter_by_prefix=presence-&info': 'user_count' })
  const encodedKey = key.replace('filter_by_prefix=presence-&info=user_count', 'filter_by_prefix%3Dpresence-%26info=user_count')
  t.equal((await fetch(`${url}${encodedKey}`)).status, 401, 'a key that decodes to separators: refused')
})

t.test('the same signed trigger sent twice within its window is delivered twice, as Pusher delivers it', async (t) => {
  // Pusher's SDKs sign whole seconds: two identical broadcasts in one second are one request, twice.
  const body = JSON.stringify({ name: 'twice', channel: roomChannel, data: '{"n":1}' })
  const path = signedPath('POST', '/events', body)
  const arrivals = new Promise<void>((resolve) => {
    let count = 0
    client.on('twice' as never, () => { if (++count === 2) resolve() })
  })
  for (let i = 0; i < 2; i++) {
    const answer = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
    t.equal(answer.status, 200, `sent ${i + 1}`)
  }
  await arrivals
  t.equal(received.filter(({ event }) => event === 'twice').length, 2, 'both delivered')
})

/** The SDK's get; its RequestError (thrown for 4xx) as the status it carries. */
async function sdkGet (path: string, params: Record<string, string> = {}): Promise<{ status: number, body: unknown }> {
  try {
    const response = await pusherClient(url).get({ path, params })
    return { status: response.status, body: await response.json() as unknown }
  } catch (error) {
    const { status, body } = error as { status?: number, body?: string }
    if (status === undefined) throw error
    return { status, body }
  }
}

t.test('the official pusher SDK\'s requests with special characters in channel names and values still verify', async (t) => {
  const channel = 'private-a=b@c,d;e.1'
  t.same(await sdkGet('/channels', { filter_by_prefix: 'presence-a=b@c,d;e', info: 'user_count' }), { status: 200, body: { channels: {} } })
  t.same(await sdkGet('/channels', { filter_by_prefix: 'presence-with space', info: 'user_count' }), { status: 200, body: { channels: {} } },
    'a space (sent encoded as %20)')
  t.same(await sdkGet(`/channels/${channel}`, { info: 'subscription_count' }), { status: 200, body: { occupied: false, subscription_count: 0 } })
  const triggered = await pusherClient(url).trigger([channel, roomChannel], 'sdk_event', { text: 'a=b&c' })
  t.equal(triggered.status, 200, 'a trigger to a channel with = @ , ;')
  const batch = await pusherClient(url).triggerBatch([{ channel, name: 'sdk_event', data: { n: 1 } }])
  t.equal(batch.status, 200, 'a batch')
})

t.test('values encoded as Pusher\'s PHP SDK sends them (signed before encoding) still verify', async (t) => {
  // http_build_query with RFC 3986: every character but A-Z a-z 0-9 - _ . ~ percent-encoded.
  const encode = (value: string) => encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
  const params: Record<string, string> = {
    auth_key: pusherApp.key,
    auth_timestamp: String(Math.floor(Date.now() / 1000)),
    auth_version: '1.0',
    filter_by_prefix: 'presence-a=b@c,d;e é',
    info: 'user_count,subscription_count'
  }
  const path = `/apps/${pusherApp.appId}/channels`
  const signedQuery = Object.keys(params).sort().map((key) => `${key}=${params[key]}`).join('&')
  const signature = createHmac('sha256', pusherApp.secret).update(`GET\n${path}\n${signedQuery}`).digest('hex')
  const sentQuery = Object.keys(params).sort().map((key) => `${key}=${encode(params[key] as string)}`).join('&')
  const answer = await fetch(`${url}${path}?${sentQuery}&auth_signature=${signature}`)
  t.equal(answer.status, 200, await answer.clone().text())
  t.same(await answer.json(), { channels: {} })

  t.equal((await signedGet(url, '/channels', { filter_by_prefix: 'presence-' })).status, 200, 'a plain signed GET')
})
