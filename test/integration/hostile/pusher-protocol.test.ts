// Hostile Pusher-protocol clients against the real server process in production mode: arbitrary
// frames (fast-check), oversized frames, and connections that open and vanish. After each attack
// the process lives, its memory stays under a bound, and a pusher-js bystander is still served.
import fc from 'fast-check'
import t, { type Test } from 'tap'
import { WebSocket } from 'ws'
import { metricValue, waitFor } from '../../helpers/bridge.ts'
import { startProductionBridge } from '../../helpers/production-bridge.ts'
import { pusherApp, pusherClient as pusherSdk } from '../../helpers/pusher.ts'
import { connectPusher, nextOnChannel, subscribed } from '../../helpers/pusher-js.ts'

t.setTimeout(240_000)

const MAX_RSS_BYTES = 512 * 1024 * 1024
/** Close codes a hostile socket may get: ours (4100 flood), ws's (1009 too big, 1002/1007 protocol). */
const EXPECTED_CLOSES = new Set([1000, 1002, 1005, 1006, 1007, 1009, 4100])

const { port, url, server } = await startProductionBridge(t, {
  LOG_LEVEL: 'warn',
  CORS_ORIGINS: 'https://app.example.com',
  BRIDGE_PUSHER_APP_ID: pusherApp.appId,
  BRIDGE_PUSHER_KEY: pusherApp.key,
  BRIDGE_PUSHER_SECRET: pusherApp.secret
})

async function stillServing (t: Test, what: string): Promise<void> {
  t.equal(server.child.exitCode, null, `${what}: the process lives`)
  const rss = metricValue(await (await fetch(`${url}/metrics`)).text(), 'process_resident_memory_bytes')
  t.ok(rss > 0 && rss < MAX_RSS_BYTES, `${what}: RSS ${Math.round(rss / 1024 / 1024)} MiB is under the bound`)
  const bystander = await connectPusher(t, url)
  const channel = await subscribed(bystander, 'news')
  const got = nextOnChannel(channel, 'After')
  await pusherSdk(url).trigger('news', 'After', { what })
  t.same(await got, { what }, `${what}: a pusher-js bystander receives what is published`)
  bystander.disconnect()
}

/** Opens a raw connection, sends the frames, then a ping: answered with pong, or closed with an expected code. */
async function attack (frames: Array<string | Buffer>): Promise<void> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/app/${pusherApp.key}?protocol=7`)
  try {
    await new Promise<void>((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject) })
    const outcome = new Promise<string>((resolve) => {
      ws.on('message', (data) => { if (String(data).includes('"pusher:pong"')) resolve('pong') })
      ws.once('close', (code) => resolve(`close ${code}`))
      ws.on('error', () => {})
    })
    for (const frame of frames) ws.send(frame)
    ws.send('{"event":"pusher:ping","data":{}}')
    const result = await outcome
    if (result !== 'pong' && !EXPECTED_CLOSES.has(Number(result.slice(6)))) throw new Error(`unexpected ${result}`)
  } finally {
    ws.terminate()
  }
}

const eventName = fc.oneof(
  fc.constantFrom('pusher:subscribe', 'pusher:unsubscribe', 'pusher:ping', 'pusher:pong', 'pusher:signin', 'client-typing', 'pusher_internal:member_added', '__proto__', 'constructor'),
  fc.string({ maxLength: 40 })
)
const channelName = fc.oneof(fc.constantFrom('news', 'private-chat.1', 'presence-room.1', 'private-encrypted-x', '#server-to-user-1', ''), fc.string({ maxLength: 200 }))
const data = fc.oneof(
  fc.jsonValue({ maxDepth: 6 }),
  fc.record({ channel: channelName, auth: fc.string({ maxLength: 100 }), channel_data: fc.oneof(fc.json({ maxDepth: 4 }), fc.string()) }, { requiredKeys: [] }),
  fc.json({ maxDepth: 4 })
)
const frame = fc.oneof(
  fc.record({ event: eventName, channel: fc.option(channelName, { nil: undefined }), data }, { requiredKeys: ['event'] }).map((value) => JSON.stringify(value)),
  fc.string({ maxLength: 300 }),
  fc.json({ maxDepth: 8 }),
  fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes))
)

t.test('arbitrary frames never crash the process or disturb others', async (t) => {
  await fc.assert(fc.asyncProperty(fc.array(frame, { maxLength: 30 }), attack), { numRuns: 150 })
  t.pass('every connection answered a ping or was closed with an expected code')
  await stillServing(t, 'arbitrary frames')
})

t.test('deep, wide and oversized frames', async (t) => {
  const deep = `{"event":"client-x","channel":"private-a","data":${'['.repeat(100_000)}${']'.repeat(100_000)}}`
  await attack([deep.slice(0, 60_000)])
  await attack(['{"event":"pusher:subscribe","data":{"channel":"presence-a","auth":"k:x","channel_data":"' + '['.repeat(5000) + '"}}'])
  await attack(['x'.repeat(70 * 1024)])
  t.pass('answered or closed')
  await stillServing(t, 'deep and oversized frames')
})

t.test('odd upgrade paths: malformed escapes, long keys, odd queries', async (t) => {
  const net = await import('node:net')
  for (const path of ['/app/%E0%A4%A', '/app/%', `/app/${'k'.repeat(5000)}`, '/app/bridge-key?protocol=%', '/app/bridge-key/extra', '/app/']) {
    const status = await new Promise<string>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`)
      })
      socket.once('data', (data) => { resolve(String(data).split('\r\n')[0] ?? ''); socket.destroy() })
      socket.once('error', () => resolve('error'))
      socket.once('close', () => resolve('closed'))
    })
    t.ok(status.length > 0, `${path.slice(0, 40)}: ${status}`)
  }
  await stillServing(t, 'odd upgrade paths')
})

t.test('connections that open and vanish, and unknown keys, leave nothing behind', async (t) => {
  for (let round = 0; round < 10; round++) {
    const sockets = Array.from({ length: 50 }, (_, i) => new WebSocket(`ws://127.0.0.1:${port}/app/${i % 5 === 0 ? 'wrong' : pusherApp.key}?protocol=7`))
    await Promise.all(sockets.map((ws) => new Promise<void>((resolve) => { ws.once('open', () => resolve()); ws.once('error', () => resolve()) })))
    for (const ws of sockets) ws.terminate()
  }
  await waitFor(async () => metricValue(await (await fetch(`${url}/metrics`)).text(), 'bridge_pusher_connections') === 0, 'every vanished connection forgotten')
  t.pass('none left')
  await stillServing(t, 'vanishing connections')
})
