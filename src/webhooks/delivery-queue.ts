// Undelivered webhooks of one sending node: a queue per channel, so each channel's events go in
// order and a channel whose request is failing holds back only itself; the other channels'
// events share requests (at most MAX_BATCH_EVENTS each) sent BATCH_MS after the first waits.
// Bounded: MAX_QUEUED_EVENTS in all and MAX_CHANNEL_EVENTS waiting per channel.
import { DEFAULT_SCHEDULE, retryDelay, type RetrySchedule } from './backoff.ts'
import type { WebhookEvent } from './events.ts'
import { webhookBody } from './signing.ts'

export const MAX_BATCH_EVENTS = 100
/** Undelivered events one node holds; past it new ones are dropped and counted. */
export const MAX_QUEUED_EVENTS = 100_000
/** Events of one channel waiting behind its failing request; past it that channel's oldest are dropped. */
export const MAX_CHANNEL_EVENTS = 1000
export const MAX_IN_FLIGHT = 8

export interface WebhookEntry {
  /** Where in the log the events were derived (ordered as the log is). */
  id: string
  timeMs: number
  events: readonly WebhookEvent[]
}

export type Outcome = { ok: true } | { ok: false, cause: string, detail?: string }

export interface DeliveryReport {
  sent: (events: number) => void
  failed: (cause: string, detail?: string) => void
  retried: () => void
  dropped: (events: number, cause: string) => void
}

export interface DeliveryQueueOptions {
  batchMs: number
  post: (body: string) => Promise<Outcome>
  report: DeliveryReport
  schedule?: RetrySchedule
  maxQueued?: number
  maxPerChannel?: number
  maxInFlight?: number
  now?: () => number
}

interface EntryState { id: string, timeMs: number, remaining: number }
interface Item { entry: EntryState, event: WebhookEvent }
interface Request { items: Item[], channels: string[], firstAttemptAt: number, retries: number }

export function createDeliveryQueue (options: DeliveryQueueOptions) {
  const { batchMs, post, report, schedule = DEFAULT_SCHEDULE, maxQueued = MAX_QUEUED_EVENTS, maxPerChannel = MAX_CHANNEL_EVENTS, maxInFlight = MAX_IN_FLIGHT, now = Date.now } = options
  const waiting = new Map<string, Item[]>()
  /** Channels with a request outstanding (in flight or waiting to be retried). */
  const busy = new Set<string>()
  const entries = new Map<string, EntryState>()
  const timers = new Set<NodeJS.Timeout>()
  let held = 0
  let inFlight = 0
  let flushTimer: NodeJS.Timeout | undefined
  let delivered: string | undefined
  let closed = false

  function later (run: () => void, ms: number): NodeJS.Timeout {
    const timer = setTimeout(() => {
      timers.delete(timer)
      run()
    }, ms)
    timers.add(timer)
    return timer
  }

  function finish (items: readonly Item[]): void {
    held -= items.length
    for (const { entry } of items) entry.remaining -= 1
    for (const [id, entry] of entries) {
      if (entry.remaining > 0) break
      entries.delete(id)
      delivered = id
    }
  }

  function release (request: Request): void {
    for (const channel of request.channels) busy.delete(channel)
    kick(true)
  }

  function attempt (request: Request): void {
    inFlight += 1
    const body = webhookBody(Math.min(...request.items.map(({ entry }) => entry.timeMs)), request.items.map(({ event }) => event))
    post(body).catch((error: unknown): Outcome => ({ ok: false, cause: 'error', detail: String(error) })).then((outcome) => {
      inFlight -= 1
      if (closed) return
      if (outcome.ok) {
        report.sent(request.items.length)
        finish(request.items)
        return release(request)
      }
      report.failed(outcome.cause, outcome.detail)
      request.retries += 1
      const delay = retryDelay(request.retries, request.firstAttemptAt, now(), schedule)
      if (delay === undefined) {
        report.dropped(request.items.length, `retried until it was too late (${outcome.cause})`)
        finish(request.items)
        return release(request)
      }
      later(() => {
        report.retried()
        attempt(request)
      }, delay)
      kick(true)
    }, () => {})
  }

  function flush (): void {
    flushTimer = undefined
    while (inFlight < maxInFlight) {
      const items: Item[] = []
      const channels: string[] = []
      for (const [channel, queue] of waiting) {
        if (busy.has(channel)) continue
        const taken = queue.splice(0, MAX_BATCH_EVENTS - items.length)
        if (queue.length === 0) waiting.delete(channel)
        items.push(...taken)
        channels.push(channel)
        busy.add(channel)
        if (items.length >= MAX_BATCH_EVENTS) break
      }
      if (items.length === 0) return
      attempt({ items, channels, firstAttemptAt: now(), retries: 0 })
    }
  }

  /** `now`: a request ended, so what waits for a free slot or channel goes at once. */
  function kick (immediately = false): void {
    if (closed || waiting.size === 0) return
    if (immediately || batchMs === 0) {
      if (flushTimer !== undefined) clearTimeout(flushTimer)
      flushTimer = setTimeout(flush, 0)
      return
    }
    flushTimer ??= setTimeout(flush, batchMs)
  }

  return {
    add (entry: WebhookEntry): void {
      if (closed || entry.events.length === 0) return
      const state: EntryState = { id: entry.id, timeMs: entry.timeMs, remaining: 0 }
      entries.set(entry.id, state)
      const dropped: Item[] = []
      let refused = 0
      for (const event of entry.events) {
        if (held >= maxQueued) {
          refused += 1
          continue
        }
        let queue = waiting.get(event.channel)
        if (queue === undefined) {
          queue = []
          waiting.set(event.channel, queue)
        }
        if (queue.length >= maxPerChannel) dropped.push(queue.shift() as Item)
        queue.push({ entry: state, event })
        state.remaining += 1
        held += 1
      }
      if (refused > 0) report.dropped(refused, `more than ${maxQueued} webhook events undelivered`)
      if (dropped.length > 0) {
        report.dropped(dropped.length, `more than ${maxPerChannel} webhook events of one channel undelivered`)
        finish(dropped)
      }
      if (state.remaining === 0) finish([])
      kick()
    },

    /** The last entry whose events were all delivered or dropped, every earlier one too. */
    delivered: (): string | undefined => delivered,

    /** Room for more (a log that can wait keeps the rest until then). */
    accepting: (): boolean => held < maxQueued,

    stats (): { queued: number, oldestAgeMs: number } {
      const oldest = entries.values().next().value
      return { queued: held, oldestAgeMs: oldest === undefined ? 0 : Math.max(0, now() - oldest.timeMs) }
    },

    close (): void {
      closed = true
      if (flushTimer !== undefined) clearTimeout(flushTimer)
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
    }
  }
}

export type DeliveryQueue = ReturnType<typeof createDeliveryQueue>
