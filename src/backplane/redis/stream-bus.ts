// The bus of a cluster: one Redis stream every node appends to and reads in order, heartbeats
// included (they double as the check that Redis answers); bounded by age and by entries with
// every append (docs/cluster.md). Each node numbers its entries (append-sequence.ts): a reader
// finds entries a failover lost, and skips those it read already when Redis comes back.
import type { EncodedEvent } from '../../channels/delivery.ts'
import type { PublishClaims } from '../backplane.ts'
import { createAppendSequence, createSequenceReader, type SequenceFields } from './append-sequence.ts'
import { createAwaitedWriters } from './awaited-writers.ts'
import { claimAndAppend } from './claimed-append.ts'
import { within } from './deadline.ts'
import { compare, type Position } from '../positions.ts'
import { COMMAND_TIMEOUT_MS, type RedisClient } from './connection.ts'
import { decode, encode, positionOf, type Fields, type StreamMessage } from './stream-codec.ts'
import type { Log } from '../../ops/log.ts'

export const HEARTBEAT_MS = 1000
/** Redis counts as down when a heartbeat waits this long for its answer (hung, or unreachable). */
const UNHEALTHY_AFTER_MS = 2500
/** Most entries one read takes; the entry cap is never below it (a gap shows as a full read). */
export const READ_COUNT = 500

export interface StreamBusOptions {
  client: RedisClient
  reader: RedisClient
  stream: string
  nodeId: string
  log: Log
  maxEntries: number
  /** How long entries stay (the recovery window): a reader that falls behind longer loses messages. */
  keepMs: number
  /** Each entry read, in stream order: `message` undefined for a heartbeat. */
  onEntry: (position: Position, node: string, message: StreamMessage | undefined) => void
  /** Entries were skipped unread (trimmed, or lost in a failover): called before what follows them is applied. */
  onFellBehind: () => void
  onHeartbeat: () => void
  /** False for a shard of a split bus: only the stream every node reads carries heartbeats. */
  heartbeats?: boolean
  /** Where to start reading (default: after the newest entry). */
  startAfter?: string
}

export async function createStreamBus ({ client, reader, stream, nodeId, log, maxEntries, keepMs, onEntry, onFellBehind, onHeartbeat, heartbeats = true, startAfter }: StreamBusOptions) {
  const state = { closed: false }
  let lastId = '0-0'
  /** Read back only after this: Redis came back (restarted, failed over) and what is before may be gone. */
  let trustedAfter: Position = [0, 0, 0]
  /** The newest entry this node knows the stream holds (read, or appended by this node). */
  let newestKnown: Position = [0, 0, 0]
  /** Redis's clock as the stream shows it (the newest entry read), for trimming. */
  let streamTime = 0
  let heartbeatStored = true
  let heartbeatSentAt: number | undefined
  const readUpTo = new Map<Position, () => void>()
  const sequence = createAppendSequence()
  const sequences = createSequenceReader()
  const awaited = createAwaitedWriters()
  /** Changed by a resync: a read sent before it answers from where reading no longer goes on. */
  let readFrom = 0

  // Messages trim by entries (a burst cannot grow the stream), heartbeats by age (an idle stream too).
  const trimByEntries = { TRIM: { strategy: 'MAXLEN' as const, strategyModifier: '~' as const, threshold: maxEntries } }
  function trimByAge () {
    if (streamTime === 0) return trimByEntries
    return { TRIM: { strategy: 'MINID' as const, strategyModifier: '~' as const, threshold: streamTime - keepMs } }
  }

  function known (id: string): void {
    const position = positionOf(id)
    if (compare(position, newestKnown) > 0) newestKnown = position
  }

  /** Sends an entry numbered in turn; its number is settled when Redis answers (stored, or not for sure). */
  function numbered<T> (send: (fields: SequenceFields) => Promise<T>, stored: (answer: T) => boolean = () => true): Promise<T> {
    const { fields, number, says } = sequence.take()
    const sent = send(fields)
    sent.then((answer) => { sequence.settled(number, stored(answer), says) }, () => { sequence.settled(number, false, says) })
    return sent
  }

  async function append (message: StreamMessage): Promise<void> {
    const id = await within(numbered((fields) => client.xAdd(stream, '*', { ...encode(nodeId, message), ...fields }, trimByEntries)), COMMAND_TIMEOUT_MS, 'appending to the stream')
    known(id)
  }

  /** Whether the entry is read for the first time: one read already (Redis came back) is passed over. */
  function firstRead (node: string, fields: Fields, lost: () => void): boolean {
    const verdict = sequences.read(node, fields, fields.t === 'beat')
    if (verdict === 'lost') lost()
    return verdict !== 'seen'
  }

  function readEntry (id: string, fields: Fields): void {
    const node = fields.n
    if (node === undefined) return
    const time = Number(id.split('-')[0])
    if (time > streamTime) streamTime = time
    if (fields.t === 'beat') return onEntry(positionOf(id), node, undefined)
    let message: StreamMessage | undefined
    try {
      message = decode(fields)
    } catch {
      message = undefined
    }
    if (message === undefined) {
      log.warn({ id }, 'cluster bus: unreadable entry ignored')
      return
    }
    onEntry(positionOf(id), node, message)
  }

  /** The node a `dead` entry names. */
  function deadNode (fields: Fields): string | undefined {
    try {
      const message = decode(fields)
      return message?.type === 'dead' ? message.node : undefined
    } catch {
      return undefined
    }
  }

  /** Whether entries after `after` were trimmed unread: trimming removes the oldest, so the oldest left is later. */
  async function trimmedUnread (after: string): Promise<boolean> {
    const [oldest] = await reader.xRange(stream, '-', '+', { COUNT: 1 }) ?? []
    return oldest !== undefined && compare(positionOf(oldest.id), positionOf(after)) > 0
  }

  async function readForever (): Promise<void> {
    while (!state.closed) {
      try {
        const before = lastId
        const from = readFrom
        const reply = await reader.xRead({ key: stream, id: lastId }, { BLOCK: 1000, COUNT: READ_COUNT })
        if (from !== readFrom) continue
        const entries = (reply ?? []).flatMap(({ messages }) => messages)
        const newest = entries.at(-1)?.id
        // Only a node that is behind can miss entries (a full read, or one spanning half the kept age).
        // Checked before the entries are applied: no socket gets an event from after a gap before the gap is known.
        if (before !== '0-0' && newest !== undefined && (entries.length === READ_COUNT || positionOf(newest)[0] - positionOf(before)[0] > keepMs / 2) && await trimmedUnread(before)) {
          log.warn({ readUpTo: before, maxEntries }, 'cluster bus: this node fell behind and entries it had not read were trimmed from the stream; sessions from before cannot be recovered on this node')
          // Each writer's numbers jump over the trimmed entries: no second alarm for them.
          sequences.reset()
          onFellBehind()
          append({ type: 'hello' }).catch(() => {})
        }
        const writersLost: string[] = []
        const writersUnheard: string[] = []
        for (const { id, message } of entries) {
          lastId = id
          const fields = message as Fields
          const node = fields.n
          if (node !== undefined) awaited.heard(node, positionOf(id))
          // A writer's acknowledged entries missing before this one: said before it is applied.
          const read = node === undefined || firstRead(node, fields, () => {
            writersLost.push(node)
            onFellBehind()
          })
          // A writer declared dead before it was heard from since Redis came back: its last
          // acknowledged entries may be gone with nothing left to show it. Taken as lost.
          const dead = read && fields.t === 'dead' ? deadNode(fields) : undefined
          if (dead !== undefined && awaited.died(dead)) {
            writersUnheard.push(dead)
            onFellBehind()
          }
          if (read) readEntry(id, fields)
        }
        if (writersLost.length > 0) {
          log.warn({ writers: writersLost, readUpTo: lastId }, 'cluster bus: entries Redis had acknowledged are missing from the stream (lost in a failover of Redis); subscribed clients of this node reconnect and are told recovered === false')
        }
        if (writersUnheard.length > 0) {
          log.warn({ writers: writersUnheard, readUpTo: lastId }, 'cluster bus: writers were declared dead before they were heard from after Redis came back; entries of theirs Redis had acknowledged may be lost in a failover of Redis; subscribed clients of this node reconnect and are told recovered === false')
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

  function heartbeat (): void {
    if (heartbeatSentAt === undefined) {
      heartbeatSentAt = Date.now()
      // Not numbered (losing one is no loss): it says how far this node's numbers went, and what became of them.
      within(client.xAdd(stream, '*', { t: 'beat', n: nodeId, ...sequence.checkpoint() }, trimByAge()), UNHEALTHY_AFTER_MS, 'heartbeat').then(
        (id) => {
          heartbeatStored = true
          known(id)
        },
        () => { heartbeatStored = false }
      ).finally(() => { heartbeatSentAt = undefined })
    }
    onHeartbeat()
  }
  const beat = heartbeats ? setInterval(heartbeat, HEARTBEAT_MS).unref() : undefined

  if (startAfter !== undefined) lastId = startAfter
  else {
    const newest = (await client.xRevRange(stream, '+', '-', { COUNT: 1 }))?.[0]
    if (newest !== undefined) lastId = newest.id
  }

  return {
    append,
    /** Appends the events whose claims it takes, in one operation with the claims. */
    appendClaimed: (events: readonly EncodedEvent[], claims: PublishClaims) =>
      // An entry only where the script appended events: otherwise its number was not stored.
      within(numbered((fields) => claimAndAppend({ client, stream, nodeId, maxEntries }, events, claims, fields), (appended) => appended.includes(true)), COMMAND_TIMEOUT_MS, 'claiming and appending to the stream'),
    start (): void {
      readForever().catch(() => {})
    },
    /** Connected, and a heartbeat stored lately (a hung Redis fails this). */
    ready: () => client.isReady && heartbeatStored && (heartbeatSentAt === undefined || Date.now() - heartbeatSentAt < UNHEALTHY_AFTER_MS),
    /** Events of the channels in `after`, each after its position, up to `upTo`; undefined when the stream no longer reaches back that far. */
    async readBack (after: ReadonlyMap<string, Position>, upTo: Position): Promise<Array<{ position: Position, event: EncodedEvent }> | undefined> {
      let earliest: Position | undefined
      for (const position of after.values()) if (earliest === undefined || compare(position, earliest) < 0) earliest = position
      if (earliest === undefined) return []
      if (compare(earliest, trustedAfter) < 0) return undefined
      // Trimming removes the oldest entries first: if the oldest left is not later, nothing after it is gone.
      const [oldest] = await within(client.xRange(stream, '-', '+', { COUNT: 1 }), COMMAND_TIMEOUT_MS, 'reading the stream\'s start') ?? []
      if (oldest === undefined || compare(positionOf(oldest.id), earliest) > 0) return undefined
      const found: Array<{ position: Position, event: EncodedEvent }> = []
      let start = `${earliest[0]}-${earliest[1]}`
      for (;;) {
        const page = await within(client.xRange(stream, start, `${upTo[0]}-${upTo[1]}`, { COUNT: READ_COUNT }), COMMAND_TIMEOUT_MS, 'reading the stream back') ?? []
        for (const { id, message } of page) {
          const type = (message as Fields).t
          if (type !== 'events' && type !== 'hello') continue
          const decoded = decode(message as Fields)
          // A node that saw Redis come back said so: entries before it may be gone (a failover).
          if (decoded?.type === 'hello' && decoded.lost === true && compare(positionOf(id), earliest) > 0) return undefined
          if (decoded?.type !== 'events') continue
          const [ms, seq] = positionOf(id)
          decoded.events.forEach((event, index) => {
            const position: Position = [ms, seq, index]
            const from = after.get(event.channel)
            if (from !== undefined && compare(position, from) > 0 && compare(position, upTo) <= 0) found.push({ position, event })
          })
        }
        if (page.length < READ_COUNT) return found
        start = `(${(page.at(-1) as { id: string }).id}`
      }
    },
    /** Redis came back: nothing read before now is read back (the new primary may lack some of it). */
    distrustEarlier (): void {
      const [ms, seq, index] = positionOf(lastId)
      trustedAfter = [ms, seq, index + 0.5]
    },
    lagSeconds (): number {
      const read = positionOf(lastId)
      return compare(read, newestKnown) >= 0 ? 0 : (newestKnown[0] - read[0]) / 1000
    },
    /**
     * Redis came back (restarted, failed over): reading goes on after the newest entry this node
     * read that Redis still holds, or from the stream's start when there is none. Entries read
     * already are passed over by their numbers; a writer's acknowledged entries that are gone
     * show as a jump in its numbers. Each of `writers` (nodes heard from before) is awaited: it
     * must be heard from after the newest entry Redis holds now, before it is declared dead.
     */
    async resync (writers: readonly string[] = []): Promise<void> {
      const newestEntries = await client.xRevRange(stream, '+', '-', { COUNT: READ_COUNT }) ?? []
      const read = positionOf(lastId)
      const resumeAt = newestEntries.find(({ id, message }) => {
        const fields = message as Fields
        return fields.n !== undefined && fields.q !== undefined && fields.t !== 'beat' && compare(positionOf(id), read) <= 0 && sequences.seen(fields.n, Number(fields.q))
      })
      readFrom += 1
      lastId = resumeAt?.id ?? '0-0'
      newestKnown = [0, 0, 0]
      const newest = newestEntries[0]
      if (newest !== undefined) known(newest.id)
      awaited.await(writers, newestKnown)
    },
    /** The writers whose entries were read here. */
    writersRead: (): string[] => sequences.tracked(),
    /**
     * `node` was declared dead (on another stream: this one carries no `dead` entries): true when
     * it was awaited still since Redis came back (its last acknowledged entries here may be gone).
     */
    writerDied: (node: string): boolean => awaited.died(node),
    /** A dead node's numbers need not be kept past the recovery window. */
    forgetWriter (node: string): void {
      sequences.forget(node)
    },
    async caughtUp (): Promise<void> {
      const latest = (await within(client.xRevRange(stream, '+', '-', { COUNT: 1 }), COMMAND_TIMEOUT_MS, 'reading the stream\'s end'))?.[0]
      if (latest === undefined) return
      known(latest.id)
      const target = positionOf(latest.id)
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
    /** The last entry read (where a new reader starts: the stream's end). */
    readPosition: (): Position => positionOf(lastId),
    close (): void {
      state.closed = true
      clearInterval(beat)
    }
  }
}

export type StreamBus = Awaited<ReturnType<typeof createStreamBus>>
