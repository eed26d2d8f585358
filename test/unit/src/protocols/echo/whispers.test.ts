// Whispers (Echo's client events): relayed to the channel's other Echo sockets, never back to the
// sender, only `client-…` on authorized private and presence channels, within size, depth and
// rate limits, off with BRIDGE_WHISPERS=off; relayed and dropped ones counted in /metrics.
import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { connectClient, metricValue, securedEnv, signedHeaders, socketToken, startBridge, subscribe, waitFor } from '../../../../helpers/bridge.ts'
import { answerTo, connectEcho, emitRaw, nextOn, recordAll, type EchoClient } from '../../../../helpers/echo.ts'

// Many real bridges and Echo clients (loading Echo itself first): generous on a busy machine.
t.setTimeout(180_000)

async function metrics (fastify: FastifyInstance): Promise<string> {
  return (await fastify.inject({ method: 'GET', url: '/metrics' })).body
}

async function publishSigned (fastify: FastifyInstance, body: Record<string, unknown>): Promise<void> {
  const payload = JSON.stringify(body)
  await fastify.inject({ method: 'POST', url: '/api/sms/new-message', payload, headers: { 'content-type': 'application/json', ...signedHeaders(payload) } })
}

const dropped = (text: string, reason: string) => metricValue(text, `bridge_whispers_dropped_total{reason="${reason}"}`)

/** Two users on `private-chat.1` (tokens mode), and a third socket subscribed to it but not through Echo. */
async function chat (t: Test, env = {}) {
  const bridge = await startBridge(t, securedEnv(env))
  const rooms = ['private-chat.*', 'presence-chat.*']
  const ann = await connectEcho(t, bridge.url, { bearerToken: socketToken({ sub: 'ann', rooms }) })
  const bob = await connectEcho(t, bridge.url, { bearerToken: socketToken({ sub: 'bob', rooms }) })
  ann.private('chat.1')
  bob.private('chat.1')
  t.equal(await answerTo(ann, 'private-chat.1'), 'ok')
  t.equal(await answerTo(bob, 'private-chat.1'), 'ok')
  return { ...bridge, ann, bob }
}

/** A whisper that arrives after everything sent before it: proves what did not arrive never will. */
async function marker (from: EchoClient, to: EchoClient, channel = 'private-chat.1'): Promise<void> {
  const arrived = nextOn(to, 'client-marker', channel)
  from.private(channel.replace(/^private-/, '')).whisper('marker', {})
  await arrived
}

t.test('a whisper reaches the channel\'s other sockets as (event, channel, data), not its sender', async (t) => {
  const { fastify, ann, bob } = await chat(t)
  const annSeen = recordAll(ann)
  const typing = new Promise((resolve) => bob.private('chat.1').listenForWhisper('typing', resolve))
  ann.private('chat.1').whisper('typing', { name: 'Ann', typing: true })
  t.same(await typing, { name: 'Ann', typing: true }, 'Echo\'s listenForWhisper gets the data')
  await marker(bob, ann)
  t.same(annSeen.map(({ event }) => event), ['client-marker'], 'the sender never got its own whisper back')
  t.equal(metricValue(await metrics(fastify), 'bridge_whispers_relayed_total'), 2)
})

t.test('presence channels carry whispers too', async (t) => {
  const { url } = await startBridge(t, securedEnv())
  const ann = await connectEcho(t, url, { bearerToken: socketToken({ sub: 'ann', rooms: ['presence-*'] }) })
  const bob = await connectEcho(t, url, { bearerToken: socketToken({ sub: 'bob', rooms: ['presence-*'] }) })
  const here = new Promise((resolve) => bob.join('room.9').here(resolve))
  ann.join('room.9')
  t.equal(await answerTo(ann, 'presence-room.9'), 'ok')
  await here
  const whisper = new Promise((resolve) => bob.join('room.9').listenForWhisper('typing', resolve))
  ann.join('room.9').whisper('typing', { n: 1 })
  t.same(await whisper, { n: 1 })
})

t.test('whispers that break a rule are dropped and counted by reason', async (t) => {
  const { fastify, url, ann, bob } = await chat(t)
  const bobSeen = recordAll(bob)
  const stranger = await connectEcho(t, url, { bearerToken: socketToken({ sub: 'eve', rooms: [] }) })
  stranger.private('chat.1')
  t.equal(await answerTo(stranger, 'private-chat.1'), 403)
  const section3 = await connectClient(t, url, { auth: { token: socketToken({ sub: 'sam', rooms: ['*'] }) } })
  // Room chat.1 is the channel private-chat.1: the same audience, but whispers are Echo's alone.
  t.same(await subscribe(section3, 'chat.1'), { ok: true, room: 'chat.1' })
  const section3Seen: string[] = []
  section3.onAny((event: string) => { section3Seen.push(event) })

  ann.channel('lobby')
  t.equal(await answerTo(ann, 'lobby'), 'ok')
  emitRaw(ann, 'client event', { channel: 'lobby', event: 'client-typing', data: {} })
  emitRaw(ann, 'client event', { channel: 'private-chat.1', event: 'typing', data: {} })
  emitRaw(ann, 'client event', { channel: 'private-chat.1', event: 'new_message', data: { room: 'private-chat.1' } })
  emitRaw(ann, 'client event', { channel: 'private-chat.2', event: 'client-typing', data: {} })
  emitRaw(stranger, 'client event', { channel: 'private-chat.1', event: 'client-typing', data: { forged: true } })
  emitRaw(ann, 'client event', { channel: 'private-chat.1', event: 'client-big', data: { text: 'x'.repeat(10 * 1024) } })
  let deep: unknown = {}
  for (let i = 0; i < 33; i++) deep = { deep }
  emitRaw(ann, 'client event', { channel: 'private-chat.1', event: 'client-deep', data: deep })
  await marker(ann, bob)

  const text = await metrics(fastify)
  t.equal(dropped(text, 'not_private'), 1, 'a public channel')
  t.equal(dropped(text, 'not_client_event'), 2, 'event names without client-')
  t.equal(dropped(text, 'not_authorized'), 2, 'a channel the socket is not in, and a socket that was refused')
  t.equal(dropped(text, 'too_large'), 1, 'more than 10 KB of data')
  t.equal(dropped(text, 'too_deep'), 1, 'nested deeper than 32 levels')
  t.same(bobSeen.map(({ event }) => event), ['client-marker'], 'none of them reached the other Echo socket')
  t.same(section3Seen, [], 'whispers never reach section 3 subscribers of the channel\'s room')
})

t.test('data of exactly 10 KB and 32 levels is relayed', async (t) => {
  const { ann, bob } = await chat(t)
  const overhead = JSON.stringify({ text: '' }).length
  const data = { text: 'x'.repeat(10 * 1024 - overhead) }
  const big = nextOn(bob, 'client-big', 'private-chat.1')
  ann.private('chat.1').whisper('big', data)
  t.same(await big, data)
  let deep: unknown = {}
  for (let i = 0; i < 31; i++) deep = { deep }
  const nested = nextOn(bob, 'client-deep', 'private-chat.1')
  ann.private('chat.1').whisper('deep', deep)
  t.same(await nested, deep)
})

t.test('past BRIDGE_MAX_WHISPERS_PER_SECOND a connection\'s whispers are dropped and counted', async (t) => {
  const { fastify, ann, bob } = await chat(t, { BRIDGE_MAX_WHISPERS_PER_SECOND: '3' })
  const bobSeen = recordAll(bob)
  const channel = ann.private('chat.1')
  for (let i = 0; i < 20; i++) channel.whisper('typing', { i })
  // Bob's own allowance is his: his whisper arrives after everything Ann sent.
  await marker(bob, ann)
  const text = await metrics(fastify)
  const relayed = bobSeen.filter(({ event }) => event === 'client-typing').length
  t.ok(relayed >= 3 && relayed < 20, `some relayed (${relayed}), the rest dropped`)
  t.equal(dropped(text, 'rate_limited'), 20 - relayed, 'every dropped one is counted')
})

t.test('BRIDGE_WHISPERS=off relays none', async (t) => {
  const { fastify, ann, bob } = await chat(t, { BRIDGE_WHISPERS: 'off' })
  const bobSeen = recordAll(bob)
  ann.private('chat.1').whisper('typing', {})
  // No marker can pass: wait for the count instead, then check nothing arrived meanwhile.
  await waitFor(async () => dropped(await metrics(fastify), 'disabled') === 1, 'the dropped whisper to be counted')
  const later = nextOn(bob, 'new_message', 'private-chat.1')
  await publishSigned(fastify, { room: 'chat.1', message: {} })
  await later
  t.same(bobSeen.map(({ event }) => event), ['new_message'], 'the whisper never arrived')
})

t.test('an unsubscribed socket\'s whispers are dropped', async (t) => {
  const { fastify, ann, bob } = await chat(t)
  const bobSeen = recordAll(bob)
  ann.leave('chat.1')
  emitRaw(ann, 'client event', { channel: 'private-chat.1', event: 'client-typing', data: {} })
  ann.private('chat.2')
  t.equal(await answerTo(ann, 'private-chat.2'), 'ok')
  bob.private('chat.2')
  t.equal(await answerTo(bob, 'private-chat.2'), 'ok')
  await marker(ann, bob, 'private-chat.2')
  t.equal(dropped(await metrics(fastify), 'not_authorized'), 1)
  t.same(bobSeen.filter(({ event }) => event.startsWith('client-')).map(({ event }) => event), ['client-marker'])
})
