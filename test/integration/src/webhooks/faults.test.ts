// Receivers that fail the bridge's webhooks in every way (contract section 7): one that hangs,
// redirects, answers a huge body, or is unreachable, and sockets flapping in a flood while it
// fails. Nothing crashes, nothing is followed or read whole, each cause is logged once, memory
// stays within the queue's bound.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { captureLogs, connectClient, freePort, metricValue, socketToken, startBridge, subscribe, unsubscribe, waitFor } from '../../../helpers/bridge.ts'
import { pusherEnv } from '../../../helpers/pusher-js.ts'
import { webhookReceiver } from '../../../helpers/webhook-receiver.ts'
import { MAX_CHANNEL_EVENTS } from '../../../../src/webhooks/delivery-queue.ts'

t.setTimeout(120_000)

const rooms = ['chat.*']

async function bridgeFor (t: Parameters<typeof startBridge>[0], webhookUrl: string) {
  const logs = captureLogs()
  const bridge = await startBridge(t, pusherEnv({ BRIDGE_WEBHOOK_URL: webhookUrl, BRIDGE_WEBHOOK_BATCH_MS: '10', LOG_LEVEL: 'info' }), { logStream: logs.stream })
  const room = await connectClient(t, bridge.url, { auth: { token: socketToken({ sub: 'cid', rooms }) } })
  return { ...bridge, logs, room }
}

const failures = (logs: ReturnType<typeof captureLogs>) => logs.lines.filter((line) => line.msg === 'webhook request failed; it is retried')
const metrics = async (url: string) => await (await fetch(`${url}/metrics`)).text()

t.test('a receiver that never answers: given up after 5 s, retried, then delivered once it answers', async (t) => {
  const receiver = await webhookReceiver(t)
  let hang = true
  receiver.answer((_request, response) => { if (!hang) response.end('ok') })
  const { url, logs, room } = await bridgeFor(t, receiver.url)
  await subscribe(room, 'chat.1')
  await waitFor(() => failures(logs).length === 1, 'the timeout logged', 15_000)
  t.match(failures(logs)[0], { cause: 'no answer within 5000 ms' })
  hang = false
  await waitFor(async () => metricValue(await metrics(url), 'bridge_webhook_events_sent_total') === 1, 'delivered on a retry', 30_000)
  t.ok(receiver.requests.length >= 2, 'the same webhook sent again')
})

t.test('a redirect is not followed: counted as a failure, the target never reached', async (t) => {
  const target = await webhookReceiver(t)
  const receiver = await webhookReceiver(t)
  receiver.answer((_request, response) => {
    response.statusCode = 307
    response.setHeader('Location', target.url)
    response.end()
  })
  const { url, logs, room } = await bridgeFor(t, receiver.url)
  await subscribe(room, 'chat.2')
  await waitFor(() => failures(logs).length === 1, 'the redirect logged')
  t.match(failures(logs)[0], { cause: 'answered 307 (a redirect, not followed)' })
  t.equal(target.requests.length, 0, 'the Location was never requested')
  t.ok(metricValue(await metrics(url), 'bridge_webhook_requests_failed_total') >= 1)
})

t.test('a huge failing answer: only a short prefix read and logged', async (t) => {
  let written = 0
  const server = createServer((request, response) => {
    request.resume()
    request.on('end', () => {
      response.writeHead(500, { 'Content-Type': 'text/plain' })
      const chunk = Buffer.alloc(64 * 1024, 'y')
      // Up to 256 MiB, as fast as the bridge reads it; it should stop reading at once.
      const write = () => {
        while (written < 256 * 1024 * 1024) {
          written += chunk.length
          if (!response.write(chunk)) return response.once('drain', write)
        }
        response.end()
      }
      response.on('error', () => {})
      write()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }))
  const { logs, room } = await bridgeFor(t, `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`)
  await subscribe(room, 'chat.3')
  await waitFor(() => failures(logs).length === 1, 'the 500 logged')
  const line = failures(logs)[0] ?? {}
  t.match(line, { cause: 'answered 500' })
  t.ok(String(line.answer).length <= 200 && String(line.answer).startsWith('yyy'), 'a short prefix of the answer')
  t.ok(written < 64 * 1024 * 1024, `the bridge stopped reading (${written} bytes written before it closed)`)
})

t.test('an unreachable receiver: logged once per cause, counted, the bridge keeps serving', async (t) => {
  const port = await freePort()
  const { url, logs, room } = await bridgeFor(t, `http://127.0.0.1:${port}/hooks`)
  for (let index = 0; index < 5; index += 1) await subscribe(room, `chat.u${index}`)
  await waitFor(async () => metricValue(await metrics(url), 'bridge_webhook_requests_failed_total') >= 2, 'failed more than once', 30_000)
  t.equal(failures(logs).length, 1, 'one line for one cause')
  t.match(failures(logs)[0], { cause: /^unreachable \(ECONNREFUSED\)$/ })
  t.ok(metricValue(await metrics(url), 'bridge_webhook_queue_events') >= 5, 'the events wait in the queue')
  t.ok(metricValue(await metrics(url), 'bridge_webhook_oldest_undelivered_seconds') > 0, 'and age')
  t.equal((await fetch(`${url}/health`)).status, 200)
})

t.test('a flood of flapping subscriptions while the receiver fails: the queue keeps its bound per channel, nothing crashes', async (t) => {
  const receiver = await webhookReceiver(t)
  receiver.answer((_request, response) => {
    response.statusCode = 500
    response.end()
  })
  const { url, room } = await bridgeWithLimits(t, receiver.url)
  const flaps = Math.ceil(MAX_CHANNEL_EVENTS / 2) + 100
  for (let index = 0; index < flaps; index += 1) {
    await subscribe(room, 'chat.flap')
    await unsubscribe(room, 'chat.flap')
  }
  await waitFor(async () => metricValue(await metrics(url), 'bridge_webhook_events_dropped_total') > 0, 'drops counted')
  const text = await metrics(url)
  t.ok(metricValue(text, 'bridge_webhook_queue_events') <= MAX_CHANNEL_EVENTS + 100, `one flapping channel holds at most its bound (${metricValue(text, 'bridge_webhook_queue_events')})`)
  t.ok(metricValue(text, 'bridge_webhook_events_dropped_total') >= 2 * flaps - MAX_CHANNEL_EVENTS - 100, 'the rest dropped and counted')
  t.equal((await fetch(`${url}/health`)).status, 200)
})

/** Subscribes fast enough for a flood: the per-connection rate limit raised. */
async function bridgeWithLimits (t: Parameters<typeof startBridge>[0], webhookUrl: string) {
  const bridge = await startBridge(t, pusherEnv({ BRIDGE_WEBHOOK_URL: webhookUrl, BRIDGE_MAX_SUBSCRIBES_PER_SECOND: '10000' }))
  const room = await connectClient(t, bridge.url, { auth: { token: socketToken({ sub: 'cid', rooms }) } })
  return { ...bridge, room }
}
