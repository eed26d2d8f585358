// Webhooks of a cluster on the real Redis (contract section 7): two bridges, one real receiver.
// Each change is sent once for the cluster, and the webhooks a killed sender had not delivered
// are sent by the other node.
import t, { type Test } from 'tap'
import { freePort, socketToken, startBridge, startServer, waitFor } from '../../helpers/bridge.ts'
import { answerTo, connectEcho } from '../../helpers/echo.ts'
import { pusherEnv } from '../../helpers/pusher-js.ts'
import { clusterEnv, privateRedis } from '../../helpers/redis.ts'
import { eventsOf, webhookReceiver } from '../../helpers/webhook-receiver.ts'

t.setTimeout(180_000)

const rooms = ['chat.*', 'private-chat.*', 'presence-room.*']

t.test('two nodes: each change sent once for the cluster; a channel on both is occupied and vacated once, a user on both added and removed once', async (t) => {
  const receiver = await webhookReceiver(t)
  const env = pusherEnv({ ...clusterEnv(t), BRIDGE_WEBHOOK_URL: receiver.url, BRIDGE_WEBHOOK_BATCH_MS: '20' })
  const a = await startBridge(t, env)
  const b = await startBridge(t, env)
  const annOnA = await connectEcho(t, a.url, { bearerToken: socketToken({ sub: 'ann', rooms }) })
  annOnA.join('room.1')
  t.equal(await answerTo(annOnA, 'presence-room.1'), 'ok')
  const annOnB = await connectEcho(t, b.url, { bearerToken: socketToken({ sub: 'ann', rooms }) })
  annOnB.join('room.1')
  t.equal(await answerTo(annOnB, 'presence-room.1'), 'ok')
  const bobOnB = await connectEcho(t, b.url, { bearerToken: socketToken({ sub: 'bob', rooms }) })
  bobOnB.join('room.1')
  t.equal(await answerTo(bobOnB, 'presence-room.1'), 'ok')
  await waitFor(() => eventsOf(receiver.delivered(), 'presence-room.1').length >= 3, 'occupied and two members')

  annOnA.leave('room.1')
  bobOnB.leave('room.1')
  await waitFor(() => eventsOf(receiver.delivered(), 'presence-room.1').includes('member_removed:bob'), 'bob removed')
  annOnB.leave('room.1')
  await waitFor(() => eventsOf(receiver.delivered(), 'presence-room.1').includes('channel_vacated'), 'vacated')
  // Anything sent twice would arrive within this.
  await new Promise((resolve) => setTimeout(resolve, 1500))
  t.same(eventsOf(receiver.delivered(), 'presence-room.1'),
    ['channel_occupied', 'member_added:ann', 'member_added:bob', 'member_removed:bob', 'member_removed:ann', 'channel_vacated'],
    'once each, in order, though both nodes derived them')
  t.ok(receiver.requests.every((request) => request.signed))
})

/** A bridge process of the cluster, killed as a crash would be. */
async function bridgeProcess (t: Test, env: Record<string, string>) {
  const port = await freePort()
  const server = startServer({ ...env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info' })
  t.teardown(() => { server.child.kill('SIGKILL') })
  await server.logLine('Server listening')
  return { ...server, url: `http://127.0.0.1:${port}` }
}

t.test('the sender is killed (SIGKILL) with webhooks undelivered: the other node sends them, and vacates the dead node\'s channels', async (t) => {
  const receiver = await webhookReceiver(t)
  let failing = true
  receiver.answer((_request, response) => {
    response.statusCode = failing ? 503 : 200
    response.end()
  })
  const env = pusherEnv({ ...clusterEnv(t), BRIDGE_WEBHOOK_URL: receiver.url, BRIDGE_WEBHOOK_BATCH_MS: '20' }) as Record<string, string>
  const a = await bridgeProcess(t, env)
  await a.logLine('webhooks: this node sends')
  const b = await bridgeProcess(t, env)

  const onA = await connectEcho(t, a.url, { bearerToken: socketToken({ sub: 'ann', rooms }) })
  onA.join('room.7')
  t.equal(await answerTo(onA, 'presence-room.7'), 'ok')
  const onB = await connectEcho(t, b.url, { bearerToken: socketToken({ sub: 'bob', rooms }) })
  onB.private('chat.8')
  t.equal(await answerTo(onB, 'private-chat.8'), 'ok')
  await waitFor(() => receiver.requests.length >= 1, 'the sender tried (and the receiver failed)')

  a.child.kill('SIGKILL')
  const killedAt = Date.now()
  failing = false
  await waitFor(() => eventsOf(receiver.delivered(), 'private-chat.8').includes('channel_occupied') &&
    eventsOf(receiver.delivered(), 'presence-room.7').includes('channel_vacated'), 'the undelivered webhooks and the dead node\'s vacated', 60_000)
  const after = Date.now() - killedAt
  t.ok(after < 60_000, `sent by the other node ${after} ms after the kill`)
  const delivered = receiver.requests.filter((request) => request.headers['x-pusher-signature'] !== undefined)
  t.ok(delivered.every((request) => request.signed), 'signed by the new sender too')
  const room7 = eventsOf(receiver.requests.slice(-5).flatMap((request) => request.body.events), 'presence-room.7')
  t.same(room7.filter((name) => name !== 'channel_occupied' && name !== 'member_added:ann'), ['member_removed:ann', 'channel_vacated'], 'the dead node\'s member removed, then its channel vacated')
  t.same(eventsOf(receiver.requests.at(-1)?.body.events ?? [], 'presence-room.7').slice(0, 2), ['channel_occupied', 'member_added:ann'], 'what the killed sender never delivered, in order')
})

t.test('a node that starts later learns the existing channels and members without reporting them again', async (t) => {
  const receiver = await webhookReceiver(t)
  const env = pusherEnv({ ...clusterEnv(t), BRIDGE_WEBHOOK_URL: receiver.url, BRIDGE_WEBHOOK_BATCH_MS: '20' })
  const a = await startBridge(t, env)
  const ann = await connectEcho(t, a.url, { bearerToken: socketToken({ sub: 'ann', rooms }) })
  ann.join('room.4')
  t.equal(await answerTo(ann, 'presence-room.4'), 'ok')
  await waitFor(() => eventsOf(receiver.delivered(), 'presence-room.4').length === 2, 'occupied and added')
  const b = await startBridge(t, env)
  const bob = await connectEcho(t, b.url, { bearerToken: socketToken({ sub: 'bob', rooms }) })
  bob.join('room.4')
  t.equal(await answerTo(bob, 'presence-room.4'), 'ok')
  await waitFor(() => eventsOf(receiver.delivered(), 'presence-room.4').includes('member_added:bob'), 'bob added')
  await new Promise((resolve) => setTimeout(resolve, 1500))
  t.same(eventsOf(receiver.delivered(), 'presence-room.4'), ['channel_occupied', 'member_added:ann', 'member_added:bob'], 'nothing twice')
})

t.test('Redis paused, then restarted empty: a change made during the pause is reported, nothing is sent twice, webhooks go on', async (t) => {
  const redis = await privateRedis(t)
  const receiver = await webhookReceiver(t)
  const env = pusherEnv({ ...clusterEnv(t, redis.url), BRIDGE_WEBHOOK_URL: receiver.url, BRIDGE_WEBHOOK_BATCH_MS: '20' })
  const a = await startBridge(t, env)
  const b = await startBridge(t, env)
  const ann = await connectEcho(t, a.url, { bearerToken: socketToken({ sub: 'ann', rooms }) })
  ann.join('room.5')
  t.equal(await answerTo(ann, 'presence-room.5'), 'ok')
  await waitFor(() => eventsOf(receiver.delivered(), 'presence-room.5').length === 2, 'occupied and added')

  const bob = await connectEcho(t, b.url, { bearerToken: socketToken({ sub: 'bob', rooms }) })
  // Shorter than the sender's lease: the sender goes on after it.
  redis.pause()
  bob.join('room.6')
  const answered = answerTo(bob, 'presence-room.6')
  await new Promise((resolve) => setTimeout(resolve, 2500))
  redis.resume()
  t.equal(await answered, 'ok', 'subscribing works while Redis is paused')
  await waitFor(() => eventsOf(receiver.delivered(), 'presence-room.6').includes('member_added:bob'), 'the change made during the pause reported', 30_000)

  await redis.stop()
  await redis.start()
  const cy = await connectEcho(t, a.url, { bearerToken: socketToken({ sub: 'cy', rooms }) })
  await waitFor(async () => (await fetch(`${a.url}/ready`)).status === 200 && (await fetch(`${b.url}/ready`)).status === 200, 'both ready again', 30_000)
  cy.join('room.7')
  t.equal(await answerTo(cy, 'presence-room.7'), 'ok')
  await waitFor(() => eventsOf(receiver.delivered(), 'presence-room.7').includes('member_added:cy'), 'webhooks go on after the restart', 45_000)
  await new Promise((resolve) => setTimeout(resolve, 1500))
  t.comment(JSON.stringify(receiver.requests.map((r) => [r.body.time_ms, r.body.events])))
  t.same(eventsOf(receiver.delivered(), 'presence-room.5'), ['channel_occupied', 'member_added:ann'], 'what was reported before is not reported again')
  t.same(eventsOf(receiver.delivered(), 'presence-room.6'), ['channel_occupied', 'member_added:bob'], 'nor what was reported after the pause')
})
