// The bus of a cluster: one Redis stream that every node appends to and reads in order, so
// that all nodes apply the same events, interest and presence changes in the same order; node
// heartbeats in the same stream, so a node that stops is noticed and its members leave; and
// over Redis pub/sub, ephemeral events (whispers, stored nowhere) and questions to every node
// (room counts), answered as counts and user ids. The stream is bounded by age and by entries
// with every append (docs/cluster.md).
import { randomBytes, randomUUID } from 'node:crypto'
import type { Answer, Bus, BusHandler, BusMessage, Question } from './bus.ts'
import { within } from './deadline.ts'
import type { EncodedEvent } from './events.ts'
import { compare, type Position } from './positions.ts'
import { COMMAND_TIMEOUT_MS, connectRedis, describeRedisUrl, RedisUnreachableError, STARTUP_WAIT_MS, type RedisClient } from './redis-connection.ts'
import type { Log } from './transport.ts'

/** Each node appends a heartbeat this often; it doubles as the check that Redis answers. */
export const HEARTBEAT_MS = 1000
/** A node without a heartbeat for this long is taken for dead: its members leave. */
export const NODE_TIMEOUT_MS = 5000
/** Redis counts as down when a heartbeat waits this long for its answer (hung, or unreachable). */
const UNHEALTHY_AFTER_MS = 2500
/** How long stream entries stay (readers that fall behind longer lose messages). */
const STREAM_KEEP_MS = 2 * 60 * 1000
/** Most entries one read takes; the entry cap is never below it (a gap shows as a full read). */
export const READ_COUNT = 500
/** Longest wait for every node's answer to a question. */
const ANSWERS_WITHIN_MS = 3000

export interface ClusterBusOptions {
  url: string
  prefix: string
  log: Log
  /** About how many entries the stream keeps at most (approximate trimming: a few more). */
  maxEntries: number
}

type Fields = Record<string, string>

/** Stream entry fields of a message: `t` type, `n` node, `m` the body; events add `p0…` payloads. */
function encode (node: string, message: BusMessage): Fields {
  if (message.type === 'events') {
    const fields: Fields = {
      t: 'events',
      n: node,
      m: JSON.stringify(message.events.map(({ channel, event, except, only, ephemeral }) => [channel, event, except ?? '', only ?? '', ephemeral === true ? 1 : 0]))
    }
    // Payloads go as they are: JSON text, not escaped into another JSON document.
    message.events.forEach(({ payloadJson }, index) => { fields[`p${index}`] = payloadJson })
    return fields
  }
  const { type, ...body } = message
  return { t: type, n: node, m: JSON.stringify(body) }
}

function decode (fields: Fields): BusMessage | undefined {
  const { t: type, m: body } = fields
  if (body === undefined) return undefined
  if (type === 'events') {
    const headers = JSON.parse(body) as Array<[string, string, string, string, number]>
    const events = headers.map(([channel, event, except, only, ephemeral], index): EncodedEvent => ({
      channel,
      event,
      payloadJson: fields[`p${index}`] ?? 'null',
      ...(except !== '' && { except }),
      ...((only === 'room' || only === 'echo') && { only }),
      ...(ephemeral === 1 && { ephemeral: true })
    }))
    return { type: 'events', events }
  }
  if (type === 'interest' || type === 'presence' || type === 'snapshot' || type === 'hello' || type === 'dead') {
    return { type, ...JSON.parse(body) } as BusMessage
  }
  return undefined
}

/**
 * Ephemeral events as one pub/sub message: a line of headers, then each payload on a line of
 * its own (JSON text from JSON.stringify holds no raw line break).
 */
function encodeEphemeral (events: readonly EncodedEvent[]): string {
  const headers = JSON.stringify(events.map(({ channel, event, except, only }) => [channel, event, except ?? '', only ?? '']))
  return [headers, ...events.map(({ payloadJson }) => payloadJson)].join('\n')
}

function decodeEphemeral (message: string): EncodedEvent[] {
  const [headers = '[]', ...payloads] = message.split('\n')
  return (JSON.parse(headers) as Array<[string, string, string, string]>).map(([channel, event, except, only], index) => ({
    channel,
    event,
    payloadJson: payloads[index] ?? 'null',
    ...(except !== '' && { except }),
    ...((only === 'room' || only === 'echo') && { only }),
    ephemeral: true
  }))
}

function positionOf (id: string): Position {
  const [ms, seq] = id.split('-')
  return [Number(ms), Number(seq), 0]
}

export async function startClusterBus ({ url, prefix, log, maxEntries }: ClusterBusOptions) {
  const where = describeRedisUrl(url)
  const nodeId = randomBytes(8).toString('hex')
  const stream = `${prefix}bus`
  const ephemeral = `${prefix}ephemeral`
  const requests = `${prefix}rpc`
  const answersTo = `${prefix}rpc:${nodeId}`
  const client = await connectRedis(url, `${prefix}node:${nodeId}`)
  log.info({ redis: where, node: nodeId }, 'cluster mode: connected to Redis')

  // One line when the connection goes and one when it is back, not one per retry.
  let lost = false
  let handler: BusHandler | undefined
  client.on('error', (error: Error) => {
    if (lost || client.isReady) return
    lost = true
    log.error({ redis: where, reason: error.message }, 'Redis unreachable: /ready answers 503 and publishes are refused until it is back')
  })
  client.on('ready', () => {
    if (!lost) return
    lost = false
    log.info({ redis: where }, 'Redis reachable again')
    // What was sent meanwhile may be gone (and a restarted Redis has an empty stream).
    handler?.lost()
    resync().catch(() => {})
  })

  let reader: RedisClient
  let subscriber: RedisClient
  try {
    reader = client.duplicate()
    subscriber = client.duplicate()
    reader.on('error', () => {})
    // Redis may close a subscriber alone (its output buffer limit for pub/sub): say what went.
    let subscriberLost = false
    subscriber.on('error', () => { if (!subscriber.isReady) subscriberLost = true })
    subscriber.on('ready', () => {
      if (!subscriberLost) return
      subscriberLost = false
      if (!lost) log.warn({ redis: where }, 'cluster bus: Redis closed the pub/sub connection; whispers and room-count questions sent meanwhile were lost (client-output-buffer-limit pubsub, docs/cluster.md)')
    })
    await within(Promise.all([reader.connect(), subscriber.connect()]), STARTUP_WAIT_MS, 'connecting')
  } catch {
    client.destroy()
    throw new RedisUnreachableError(`cluster mode: Redis at ${where} stopped answering while the bridge started`)
  }

  const state = { closed: false }
  /** Id of the last entry read; new entries come after it. */
  let lastId = '0-0'
  /** Redis's clock as the stream shows it (the newest entry read), for trimming. */
  let streamTime = 0
  const lastSeen = new Map<string, number>()
  const declaredDead = new Set<string>()
  /** Whether the last heartbeat was stored, and since when one is on its way (Redis may hang). */
  let heartbeatStored = true
  let heartbeatSentAt: number | undefined
  /** Waiting for the reader to pass a position. */
  const readUpTo = new Map<Position, () => void>()
  const pendingAnswers = new Map<string, { expected: Set<string>, answers: Answer[], resolve: (answers: Answer[]) => void }>()

  // Every append trims: messages by entries (a burst cannot grow the stream), heartbeats by age
  // (each node's, every second, so an idle stream keeps STREAM_KEEP_MS and no more).
  const trimByEntries = { TRIM: { strategy: 'MAXLEN' as const, strategyModifier: '~' as const, threshold: maxEntries } }
  function trimByAge () {
    if (streamTime === 0) return trimByEntries
    return { TRIM: { strategy: 'MINID' as const, strategyModifier: '~' as const, threshold: streamTime - STREAM_KEEP_MS } }
  }

  async function append (message: BusMessage): Promise<void> {
    await within(client.xAdd(stream, '*', encode(nodeId, message), trimByEntries), COMMAND_TIMEOUT_MS, 'appending to the stream')
  }

  function alive (): string[] {
    const now = Date.now()
    return [...lastSeen].filter(([, seen]) => now - seen <= NODE_TIMEOUT_MS).map(([node]) => node)
  }

  function applyEntry (id: string, fields: Fields): void {
    const node = fields.n
    if (node === undefined) return
    const time = Number(id.split('-')[0])
    if (time > streamTime) streamTime = time
    lastSeen.set(node, Date.now())
    declaredDead.delete(node)
    if (fields.t === 'beat') return
    let message: BusMessage | undefined
    try {
      message = decode(fields)
    } catch {
      message = undefined
    }
    if (message === undefined) {
      log.warn({ id }, 'cluster bus: unreadable entry ignored')
      return
    }
    if (message.type === 'dead') lastSeen.delete(message.node)
    handler?.apply(positionOf(id), node, message)
  }

  /**
   * Whether entries after `after` went before this node read them. Trimming removes the
   * oldest entries only, so that is when the oldest one left comes after it (or there were
   * none in between, which only a cluster silent for the whole kept age shows: taken as lost).
   */
  async function trimmedUnread (after: string): Promise<boolean> {
    const [oldest] = await reader.xRange(stream, '-', '+', { COUNT: 1 }) ?? []
    return oldest !== undefined && compare(positionOf(oldest.id), positionOf(after)) > 0
  }

  async function readForever (): Promise<void> {
    while (!state.closed) {
      try {
        const before = lastId
        const reply = await reader.xRead({ key: stream, id: lastId }, { BLOCK: 1000, COUNT: READ_COUNT })
        let taken = 0
        for (const { messages } of reply ?? []) {
          for (const { id, message } of messages) {
            lastId = id
            taken += 1
            applyEntry(id, message as Fields)
          }
        }
        // Only a node that is behind can miss entries: its read is full (past the entry cap)
        // or spans more than the kept age. Checked then, it costs nothing otherwise.
        if (before !== '0-0' && (taken === READ_COUNT || positionOf(lastId)[0] - positionOf(before)[0] > STREAM_KEEP_MS / 2) && await trimmedUnread(before)) {
          log.warn({ readUpTo: before, maxEntries }, 'cluster bus: this node fell behind and entries it had not read were trimmed from the stream; sessions from before cannot be recovered on this node')
          handler?.lost()
          append({ type: 'hello' }).catch(() => {})
        }
        if (readUpTo.size > 0) {
          const read = positionOf(lastId)
          for (const [target, done] of readUpTo) if (compare(read, target) >= 0) done()
        }
      } catch (error) {
        if (state.closed) return
        log.debug({ reason: String(error) }, 'cluster bus: reading the stream failed; retrying')
        await new Promise((resolve) => setTimeout(resolve, 250))
      }
    }
  }

  /** After Redis came back: read from where the stream is now, and ask for everyone's state. */
  async function resync (): Promise<void> {
    try {
      const newest = (await client.xRevRange(stream, '+', '-', { COUNT: 1 }))?.[0]
      // A restarted Redis starts an empty stream, possibly with ids below the last one read.
      if (newest === undefined || compare(positionOf(newest.id), positionOf(lastId)) < 0) lastId = '0-0'
      await append({ type: 'hello' })
    } catch (error) {
      log.debug({ reason: String(error) }, 'cluster bus: resync failed')
    }
  }

  const beat = setInterval(() => {
    if (heartbeatSentAt === undefined) {
      heartbeatSentAt = Date.now()
      within(client.xAdd(stream, '*', { t: 'beat', n: nodeId }, trimByAge()), UNHEALTHY_AFTER_MS, 'heartbeat').then(
        () => { heartbeatStored = true },
        () => { heartbeatStored = false }
      ).finally(() => { heartbeatSentAt = undefined })
    }
    // Only a node that reads its own heartbeats can tell that others stopped.
    const now = Date.now()
    if (now - (lastSeen.get(nodeId) ?? 0) > NODE_TIMEOUT_MS / 2) return
    for (const [node, seen] of lastSeen) {
      if (node === nodeId || now - seen <= NODE_TIMEOUT_MS || declaredDead.has(node)) continue
      declaredDead.add(node)
      log.warn({ node, silentForMs: now - seen }, 'cluster node stopped sending heartbeats: its members leave')
      append({ type: 'dead', node }).catch(() => declaredDead.delete(node))
    }
  }, HEARTBEAT_MS)
  beat.unref()

  await subscriber.subscribe(ephemeral, (raw) => {
    let events: EncodedEvent[]
    try {
      events = decodeEphemeral(raw)
    } catch {
      log.warn('cluster bus: unreadable ephemeral message ignored')
      return
    }
    handler?.deliver(events)
  })
  await subscriber.subscribe(requests, (raw) => {
    let request: { id: string, from: string, question: Question }
    try {
      request = JSON.parse(raw) as typeof request
    } catch {
      return
    }
    if (request.from === nodeId || handler === undefined) return
    const answer = handler.answer(request.question)
    client.publish(`${prefix}rpc:${request.from}`, JSON.stringify({ id: request.id, node: nodeId, answer })).catch(() => {})
  })
  await subscriber.subscribe(answersTo, (raw) => {
    let reply: { id: string, node: string, answer: Answer }
    try {
      reply = JSON.parse(raw) as typeof reply
    } catch {
      return
    }
    const waiting = pendingAnswers.get(reply.id)
    if (waiting === undefined || !waiting.expected.delete(reply.node)) return
    waiting.answers.push(reply.answer)
    if (waiting.expected.size === 0) waiting.resolve(waiting.answers)
  })

  const newest = (await client.xRevRange(stream, '+', '-', { COUNT: 1 }))?.[0]
  if (newest !== undefined) lastId = newest.id

  const bus: Bus = {
    nodeId,
    async start (applyWith: BusHandler) {
      handler = applyWith
      readForever().catch(() => {})
      await append({ type: 'hello' })
    },
    async send (message: BusMessage) {
      await append(message)
    },
    async sendEphemeral (events: EncodedEvent[]) {
      await within(client.publish(ephemeral, encodeEphemeral(events)), COMMAND_TIMEOUT_MS, 'sending ephemeral events')
    },
    // Unreachable, or a heartbeat failed or waits too long for its answer (a hung Redis).
    ready: () => client.isReady && heartbeatStored && (heartbeatSentAt === undefined || Date.now() - heartbeatSentAt < UNHEALTHY_AFTER_MS),
    formatOffset: ([ms, seq, index]: Position) => `${ms}-${seq}.${index}`,
    parseOffset (offset: string): Position | undefined {
      const match = /^(\d{1,15})-(\d{1,15})\.(\d{1,4})$/.exec(offset)
      return match === null ? undefined : [Number(match[1]), Number(match[2]), Number(match[3])]
    },
    async caughtUp (): Promise<void> {
      const newest = (await within(client.xRevRange(stream, '+', '-', { COUNT: 1 }), COMMAND_TIMEOUT_MS, 'reading the stream\'s end'))?.[0]
      if (newest === undefined) return
      const target = positionOf(newest.id)
      if (compare(positionOf(lastId), target) >= 0) return
      let done = () => {}
      const read = new Promise<void>((resolve) => { done = resolve })
      readUpTo.set(target, done)
      try {
        await within(read, COMMAND_TIMEOUT_MS, 'reading up to the stream\'s end')
      } finally {
        readUpTo.delete(target)
      }
    },
    async ask (question: Question): Promise<Answer[]> {
      if (handler === undefined) return []
      const own = handler.answer(question)
      const expected = new Set(alive().filter((node) => node !== nodeId))
      if (expected.size === 0) return [own]
      const id = randomUUID()
      const answered = new Promise<Answer[]>((resolve) => {
        pendingAnswers.set(id, { expected, answers: [own], resolve })
      })
      try {
        await client.publish(requests, JSON.stringify({ id, from: nodeId, question }))
        return await within(answered, ANSWERS_WITHIN_MS, `answers of ${expected.size} node(s)`)
      } finally {
        pendingAnswers.delete(id)
      }
    },
    async close () {
      state.closed = true
      clearInterval(beat)
      for (const duplicate of [reader, subscriber]) duplicate.destroy()
      if (client.isReady) await client.close()
      else client.destroy()
    }
  }

  return {
    bus,
    client,
    /** Nodes whose messages this node has read lately (this one included). */
    nodes: (): string[] => [...lastSeen.keys()]
  }
}
