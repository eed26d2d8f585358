// The sending node's queue of undelivered webhooks, against a receiver the test scripts.
import t from 'tap'
import { createDeliveryQueue, type Outcome } from '../../../../src/webhooks/delivery-queue.ts'
import type { WebhookEvent } from '../../../../src/webhooks/events.ts'

interface Received { time_ms: number, events: WebhookEvent[] }

function recorder () {
  const counts = { sent: 0, failed: 0, retried: 0, dropped: 0 }
  const causes: string[] = []
  return {
    counts,
    causes,
    report: {
      sent: (n: number) => { counts.sent += n },
      failed: (cause: string) => { counts.failed += 1; causes.push(cause) },
      retried: () => { counts.retried += 1 },
      dropped: (n: number, cause: string) => { counts.dropped += n; causes.push(cause) }
    }
  }
}

const occupied = (channel: string): WebhookEvent => ({ name: 'channel_occupied', channel })
const vacated = (channel: string): WebhookEvent => ({ name: 'channel_vacated', channel })
const until = async (check: () => boolean) => { while (!check()) await new Promise((resolve) => setTimeout(resolve, 5)) }

t.test('batched within batchMs, at most 100 events a request, in order per channel', async (t) => {
  const bodies: Received[] = []
  const { report, counts } = recorder()
  const queue = createDeliveryQueue({ batchMs: 20, report, post: async (body) => { bodies.push(JSON.parse(body)); return { ok: true } } })
  t.teardown(queue.close)
  for (let index = 0; index < 250; index += 1) queue.add({ id: String(index), timeMs: 1000 + index, events: [occupied(`private-c${index % 50}`), vacated(`private-c${index % 50}`)] })
  await until(() => counts.sent === 500)
  t.ok(bodies.every(({ events }) => events.length <= 100), 'no request holds more than 100 events')
  t.ok(bodies.length >= 5 && bodies.length <= 10, `500 events in few requests (${bodies.length})`)
  const perChannel = new Map<string, string[]>()
  for (const { events } of bodies) for (const event of events) perChannel.set(event.channel, [...perChannel.get(event.channel) ?? [], event.name])
  for (const [channel, names] of perChannel) {
    t.same(names, Array.from({ length: 10 }, (_, index) => index % 2 === 0 ? 'channel_occupied' : 'channel_vacated'), `${channel} in order`)
    if (t.passing() === false) break
  }
  t.equal(bodies[0]?.time_ms, 1000, 'time_ms is the earliest change in the request')
  t.equal(queue.delivered(), '249', 'every entry delivered')
  t.same(queue.stats(), { queued: 0, oldestAgeMs: 0 })
})

t.test('a failing channel is retried and holds back only itself; later events of others go on', async (t) => {
  const bodies: Received[] = []
  const { report, counts } = recorder()
  let failing = true
  const queue = createDeliveryQueue({
    batchMs: 0,
    report,
    schedule: { firstMs: 30, maxDelayMs: 30, forMs: 60_000 },
    post: async (body): Promise<Outcome> => {
      const parsed = JSON.parse(body) as Received
      if (failing && parsed.events.some(({ channel }) => channel === 'private-bad')) return { ok: false, cause: 'answered 500' }
      bodies.push(parsed)
      return { ok: true }
    }
  })
  t.teardown(queue.close)
  queue.add({ id: '1', timeMs: 1, events: [occupied('private-bad')] })
  await until(() => counts.failed >= 1)
  queue.add({ id: '2', timeMs: 2, events: [vacated('private-bad')] })
  queue.add({ id: '3', timeMs: 3, events: [occupied('private-good')] })
  await until(() => counts.sent === 1)
  t.same(bodies.flatMap(({ events }) => events), [occupied('private-good')], 'the other channel went while the failing one waits')
  t.equal(queue.delivered(), undefined, 'the failing entry is still undelivered')
  t.equal(queue.stats().queued, 2)
  failing = false
  await until(() => counts.sent === 3)
  t.same(bodies.flatMap(({ events }) => events).filter(({ channel }) => channel === 'private-bad'), [occupied('private-bad'), vacated('private-bad')], 'in order once it recovers')
  t.ok(counts.retried >= 1, 'retried')
  t.equal(queue.delivered(), '3')
})

t.test('given up after the retry span: dropped, counted with its cause', async (t) => {
  const { report, counts, causes } = recorder()
  const queue = createDeliveryQueue({ batchMs: 0, report, schedule: { firstMs: 5, maxDelayMs: 10, forMs: 60 }, post: async () => ({ ok: false, cause: 'answered 503' }) })
  t.teardown(queue.close)
  queue.add({ id: 'a', timeMs: Date.now(), events: [occupied('private-x'), occupied('private-y')] })
  await until(() => counts.dropped === 2)
  t.ok(counts.retried >= 2, 'retried a few times first')
  t.match(causes.at(-1), /answered 503/)
  t.equal(queue.delivered(), 'a', 'a dropped entry no longer holds back the log')
  t.equal(queue.stats().queued, 0)
})

t.test('bounded: per channel the oldest go, in all the newest are refused; memory does not grow with a flood', async (t) => {
  const { report, counts, causes } = recorder()
  const queue = createDeliveryQueue({ batchMs: 0, report, maxQueued: 300, maxPerChannel: 50, schedule: { firstMs: 60_000, maxDelayMs: 60_000, forMs: 600_000 }, post: async () => ({ ok: false, cause: 'answered 500' }) })
  t.teardown(queue.close)
  for (let index = 0; index < 10_000; index += 1) {
    queue.add({ id: `f${index}`, timeMs: Date.now(), events: [occupied('private-flap'), vacated('private-flap')] })
  }
  await until(() => counts.failed >= 1)
  t.ok(queue.stats().queued <= 50, `one flapping channel holds at most its bound (${queue.stats().queued})`)
  t.ok(counts.dropped >= 20_000 - 50, 'the rest were dropped and counted')
  t.ok(causes.some((cause) => /of one channel/.test(cause)))
  for (let index = 0; index < 1000; index += 1) queue.add({ id: `m${index}`, timeMs: Date.now(), events: [occupied(`private-m${index}`)] })
  t.ok(queue.stats().queued <= 300, `all channels together hold at most the total bound (${queue.stats().queued})`)
  t.notOk(queue.accepting(), 'full: a log that can wait stops handing more')
  t.ok(causes.some((cause) => /more than 300 webhook events undelivered/.test(cause)))
})
