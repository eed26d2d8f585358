// Webhooks of a cluster on Redis: every node appends what it derives from the bus to one stream,
// under the id of the bus entry that caused it, so the first append of each wins and the others
// are refused as already there. One node holds the sender lease (renewed; another node takes it
// once it lapses) and reads the stream into its sink from the delivered position kept in Redis,
// so the webhooks of a killed sender are sent by the next one.
import type { Log } from '../../ops/log.ts'
import type { WebhookEvent } from '../../webhooks/events.ts'
import type { WebhookLog, WebhookSink } from '../backplane.ts'
import type { RedisClient } from './connection.ts'

/** About how many entries the webhook stream keeps at most, delivered or not. */
export const WEBHOOK_LOG_MAX_ENTRIES = 100_000
export const SENDER_LEASE_MS = 10_000
const RENEW_EVERY_MS = 2000
const READ_EVERY_MS = 100
const READ_COUNT = 500

// Renewed, or taken again where Redis lost it (a restart without persistence): the sender goes on.
const RENEW = "local holder = redis.call('GET', KEYS[1]) if holder == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end " +
  "if not holder then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end return 0"
// Reads only while this node holds the lease: a node that lost it sends nothing new.
const READ = "if redis.call('GET', KEYS[1]) ~= ARGV[1] then return false end return redis.call('XRANGE', KEYS[2], ARGV[2], '+', 'COUNT', ARGV[3])"
const SAVE_DELIVERED = "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[2], ARGV[2]) redis.call('XTRIM', KEYS[3], 'MINID', '~', ARGV[2]) return 1 end return 0"

type RawEntry = [id: string, fields: string[]]

export interface RedisWebhookLogOptions {
  client: RedisClient
  prefix: string
  nodeId: string
  log: Log
  leaseMs?: number
}

export function createRedisWebhookLog ({ client, prefix, nodeId, log, leaseMs = SENDER_LEASE_MS }: RedisWebhookLogOptions): WebhookLog & { joined: () => void } {
  // One hash tag: on a Redis Cluster the scripts below touch all three, which must share a slot.
  const stream = `${prefix}{webhooks}`
  const leaseKey = `${prefix}{webhooks}:sender`
  const deliveredKey = `${prefix}{webhooks}:delivered`
  const timers: NodeJS.Timeout[] = []
  let open: (() => WebhookSink) | undefined
  let sink: WebhookSink | undefined
  let lastRead = '0-0'
  let saved: string | undefined
  let reading = false
  let closed = false
  /** A starting node learns the others' channels and members from their snapshots: not changes to report. */
  let joined = false

  function stopSending (why: string): void {
    if (sink === undefined) return
    sink.close()
    sink = undefined
    log.warn({ node: nodeId }, `webhooks: this node stopped sending (${why}); another node sends from the last delivered position`)
  }

  async function holdLease (): Promise<void> {
    if (closed || open === undefined) return
    if (sink !== undefined) {
      const renewed = await client.eval(RENEW, { keys: [leaseKey], arguments: [nodeId, String(leaseMs)] })
      if (renewed !== 1) stopSending('its sender lease lapsed')
      return
    }
    const taken = await client.set(leaseKey, nodeId, { condition: 'NX', expiration: { type: 'PX', value: leaseMs } })
    if (taken !== 'OK' || closed) return
    lastRead = await client.get(deliveredKey) ?? '0-0'
    saved = lastRead
    sink = open()
    log.info({ node: nodeId, from: lastRead }, 'webhooks: this node sends the cluster\'s webhooks')
  }

  async function readLog (): Promise<void> {
    if (sink === undefined || reading) return
    reading = true
    try {
      while (sink?.accepting() === true) {
        const current: WebhookSink = sink
        const entries = await client.eval(READ, { keys: [leaseKey, stream], arguments: [nodeId, `(${lastRead}`, String(READ_COUNT)] }) as RawEntry[] | null
        if (entries === null) return stopSending('its sender lease was taken by another node')
        if (current !== sink) return
        for (const [id, fields] of entries) {
          lastRead = id
          const message: Record<string, string> = {}
          for (let index = 0; index + 1 < fields.length; index += 2) message[fields[index] as string] = fields[index + 1] as string
          let events: WebhookEvent[]
          try {
            events = JSON.parse(message.e ?? '[]') as WebhookEvent[]
          } catch {
            continue
          }
          current.add({ id, timeMs: Number(message.t ?? id.split('-')[0]), events })
        }
        if (entries.length < READ_COUNT) break
      }
      const delivered = sink?.delivered()
      if (delivered !== undefined && delivered !== saved) {
        const stored = await client.eval(SAVE_DELIVERED, { keys: [leaseKey, deliveredKey, stream], arguments: [nodeId, delivered] })
        if (stored === 1) saved = delivered
      }
    } finally {
      reading = false
    }
  }

  function every (ms: number, run: () => Promise<void>, what: string): void {
    const timer = setInterval(() => {
      run().catch((error: unknown) => { log.debug({ reason: String(error) }, `webhooks: ${what} failed`) })
    }, ms)
    timer.unref()
    timers.push(timer)
  }

  return {
    append (position, events) {
      if (!joined) return
      const id = `${position[0]}-${position[1]}`
      client.xAdd(stream, id, { t: String(position[0]), e: JSON.stringify(events) }, {
        TRIM: { strategy: 'MAXLEN', strategyModifier: '~', threshold: WEBHOOK_LOG_MAX_ENTRIES }
      }).catch((error: unknown) => {
        // Another node appended it first: the usual case on every node but the fastest.
        if (/equal or smaller/.test(String(error))) return
        log.debug({ id, reason: String(error) }, 'webhooks: not appended')
      })
    },
    /** The node has read every other node's state: what it derives from now on is news. */
    joined () {
      joined = true
    },
    start (opener) {
      open = opener
      every(RENEW_EVERY_MS, holdLease, 'the sender lease')
      every(READ_EVERY_MS, readLog, 'reading the webhook log')
      holdLease().catch(() => {})
    },
    get sending () {
      return sink !== undefined
    },
    async close () {
      closed = true
      for (const timer of timers) clearInterval(timer)
      const wasSending = sink !== undefined
      sink?.close()
      sink = undefined
      // A node that leaves on purpose lets the next one take over at once.
      if (wasSending && client.isReady) {
        await client.eval("if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0", { keys: [leaseKey], arguments: [nodeId] }).catch(() => {})
      }
    }
  }
}
