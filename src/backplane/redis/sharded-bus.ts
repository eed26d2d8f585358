// The events of a split bus (bus-shards.ts): each channel's events go to its shard's stream, and
// a node reads a shard only while it watches one of its channels (a socket is in it, a dropped
// session may come back to it, or a restore reads it). A shard's reader starts at the stream's
// end, on a connection of its own (reads block), and stops a while after its last channel goes.
import type { EncodedEvent } from '../../channels/delivery.ts'
import type { Log } from '../../ops/log.ts'
import { PartlyHandedOn } from '../pending-claims.ts'
import { positionIn, type Clock, type Position } from '../positions.ts'
import { shardOf, shardStream } from './bus-shards.ts'
import { COMMAND_TIMEOUT_MS, type RedisClient } from './connection.ts'
import { DeadlineError, within } from './deadline.ts'
import { createAppendSequence } from './append-sequence.ts'
import { appendBounded, endOf } from './shard-append.ts'
import { encode, type StreamMessage } from './stream-codec.ts'
import { createStreamBus, type StreamBus } from './stream-bus.ts'

/** A shard's reader stays this long after its last channel went: a channel that comes back soon finds it running. */
const LINGER_MS = 10_000
const RETRY_START_MS = 1000

export interface ShardedBusOptions {
  client: RedisClient
  prefix: string
  shards: number
  nodeId: string
  log: Log
  maxEntries: number
  keepMs: number
  onEntry: (shard: number, position: Position, node: string, message: StreamMessage | undefined) => void
  onFellBehind: () => void
  /** The shard is read from after `position` (its stream's end when the reader started). */
  onStarted: (shard: number, position: Position) => void
  /** The shard is no longer read. */
  onStopped: (shard: number) => void
}

interface Reader {
  /** Channels of the shard watched now. */
  channels: number
  started: Promise<void>
  bus?: StreamBus
  connection?: RedisClient
  stopping?: NodeJS.Timeout
  stopped: boolean
}

export function createShardedBus (options: ShardedBusOptions) {
  const { client, prefix, shards, nodeId, log, maxEntries, keepMs, onEntry, onFellBehind, onStarted, onStopped } = options
  const streams = Array.from({ length: shards }, (_unused, shard) => shardStream(prefix, shard, shards))
  const watched = new Map<string, number>()
  /** This node's numbers in each shard it wrote to (append-sequence.ts): a reader finds an acknowledged entry that is gone. */
  const numbers = new Map<number, ReturnType<typeof createAppendSequence>>()
  const readers = new Map<number, Reader>()
  let closed = false

  async function startReading (shard: number, reader: Reader): Promise<void> {
    for (;;) {
      if (reader.stopped) return
      const connection = client.duplicate()
      connection.on('error', () => {})
      try {
        await within(connection.connect(), COMMAND_TIMEOUT_MS, 'connecting a shard reader')
        const bus = await createStreamBus({
          client,
          reader: connection,
          stream: streams[shard] as string,
          nodeId,
          log,
          maxEntries,
          keepMs,
          heartbeats: false,
          startAfter: await within(endOf(client, streams[shard] as string, nodeId, keepMs), COMMAND_TIMEOUT_MS, 'reading a shard\'s end'),
          onEntry: (position, node, message) => onEntry(shard, position, node, message),
          onFellBehind,
          onHeartbeat: () => {}
        })
        if (reader.stopped) {
          bus.close()
          connection.destroy()
          return
        }
        reader.bus = bus
        reader.connection = connection
        onStarted(shard, bus.readPosition())
        bus.start()
        return
      } catch (error) {
        connection.destroy()
        log.debug({ shard, reason: String(error) }, 'cluster bus: a shard reader could not start; retrying')
        await new Promise((resolve) => setTimeout(resolve, RETRY_START_MS))
      }
    }
  }

  function stop (shard: number, reader: Reader): void {
    reader.stopped = true
    readers.delete(shard)
    reader.bus?.close()
    reader.connection?.destroy()
    if (reader.bus !== undefined) onStopped(shard)
  }

  function running (): StreamBus[] {
    return [...readers.values()].flatMap((reader) => reader.bus ?? [])
  }

  return {
    shardOf: (channel: string) => shardOf(channel, shards),

    /** Reads the channel's shard from now on, until as many `unwatch` calls. */
    watch (channel: string): void {
      const count = watched.get(channel) ?? 0
      watched.set(channel, count + 1)
      if (count > 0 || closed) return
      const shard = shardOf(channel, shards)
      let reader = readers.get(shard)
      if (reader === undefined) {
        reader = { channels: 0, started: Promise.resolve(), stopped: false }
        reader.started = startReading(shard, reader)
        readers.set(shard, reader)
      }
      reader.channels += 1
      clearTimeout(reader.stopping)
      reader.stopping = undefined
    },

    unwatch (channel: string): void {
      const count = watched.get(channel)
      if (count === undefined) return
      if (count > 1) {
        watched.set(channel, count - 1)
        return
      }
      watched.delete(channel)
      const shard = shardOf(channel, shards)
      const reader = readers.get(shard)
      if (reader === undefined) return
      reader.channels -= 1
      if (reader.channels > 0) return
      reader.stopping = setTimeout(() => stop(shard, reader), LINGER_MS)
      reader.stopping.unref()
    },

    /** Resolves once the channel's shard is read (at once when it is not watched). */
    reading (channel: string): Promise<void> {
      return readers.get(shardOf(channel, shards))?.started ?? Promise.resolve()
    },

    /**
     * Appends each shard's events as one entry. Rejects with which were stored (PartlyHandedOn)
     * when only some were (their shards' primaries differ), or when a shard did not answer in
     * time: its primary may still store them, and `unanswered` says once it answers.
     */
    async append (events: readonly EncodedEvent[]): Promise<void> {
      const byShard = new Map<number, number[]>()
      events.forEach((event, index) => {
        const shard = shardOf(event.channel, shards)
        byShard.set(shard, [...byShard.get(shard) ?? [], index])
      })
      const groups = [...byShard]
      const sends = groups.map(([shard, indexes]) => {
        let sequence = numbers.get(shard)
        if (sequence === undefined) {
          sequence = createAppendSequence()
          numbers.set(shard, sequence)
        }
        const { fields, number, says } = sequence.take()
        const message = encode(nodeId, { type: 'events', events: indexes.map((index) => events[index] as EncodedEvent) })
        const sent = appendBounded(client, streams[shard] as string, { ...message, ...fields }, maxEntries, keepMs)
        sent.then(() => { sequence.settled(number, true, says) }, () => { sequence.settled(number, false, says) })
        return sent
      })
      const results = await Promise.allSettled(sends.map((sent) => within(sent, COMMAND_TIMEOUT_MS, 'appending to a shard of the bus')))
      const failed = results.find((result) => result.status === 'rejected')
      if (failed === undefined) return
      const appended = events.map(() => false)
      const unanswered: Array<Promise<boolean> | undefined> = events.map(() => undefined)
      groups.forEach(([, indexes], group) => {
        const result = results[group]
        // Past the deadline the command is still with Redis, which may run it yet.
        const answer = result?.status === 'rejected' && result.reason instanceof DeadlineError
          ? sends[group]?.then(() => true, () => false)
          : undefined
        for (const index of indexes) {
          appended[index] = result?.status === 'fulfilled'
          unanswered[index] = answer
        }
      })
      if (!appended.includes(true) && unanswered.every((answer) => answer === undefined)) throw failed.reason
      throw new PartlyHandedOn(appended, failed.reason, unanswered)
    },

    /** Each channel's events after its position, up to its shard's position in `upTo`, from the shards read here; undefined when one is not. */
    async readBack (after: ReadonlyMap<string, Position>, upTo: Clock) {
      const byShard = new Map<number, Map<string, Position>>()
      for (const [channel, position] of after) {
        const shard = shardOf(channel, shards)
        byShard.set(shard, (byShard.get(shard) ?? new Map()).set(channel, position))
      }
      const found: Array<{ position: Position, event: EncodedEvent }> = []
      for (const [shard, channels] of byShard) {
        const bus = readers.get(shard)?.bus
        if (bus === undefined) return undefined
        const events = await bus.readBack(channels, positionIn(upTo, shard))
        if (events === undefined) return undefined
        found.push(...events)
      }
      return found
    },

    shardsRead: () => running().length,

    /**
     * Redis came back (a failover): in each shard this node wrote to, a mark says how far its
     * numbers went, so that readers find at once an acknowledged entry the new primary lacks.
     */
    async checkpoint (): Promise<void> {
      await Promise.all([...numbers].map(async ([shard, sequence]) => {
        const fields = sequence.checkpoint()
        if (fields !== undefined) await appendBounded(client, streams[shard] as string, { t: 'beat', n: nodeId, ...fields }, maxEntries, keepMs)
      }))
    },

    async caughtUp (): Promise<void> {
      await Promise.all(running().map((bus) => bus.caughtUp()))
    },

    lagSeconds (): number {
      return Math.max(0, ...running().map((bus) => bus.lagSeconds()))
    },

    distrustEarlier (): void {
      for (const bus of running()) bus.distrustEarlier()
    },

    /**
     * Redis came back: each shard read goes on as the one stream does (stream-bus.ts). On each,
     * the writers of `alive` whose entries were read there are awaited: each must show an entry
     * or mark there after the newest entry the shard holds now before it is declared dead.
     */
    async resync (alive: readonly string[] = []): Promise<void> {
      const counted = new Set(alive)
      await Promise.all(running().map((bus) => bus.resync(bus.writersRead().filter((writer) => writer !== nodeId && counted.has(writer)))))
    },

    /**
     * `node` was declared dead: awaited still on a shard read here, its last acknowledged entries
     * there may be gone with nothing left to show it. Taken as lost, as a jump in its numbers is.
     */
    writerDied (node: string): void {
      const shardsUnheard = [...readers].filter(([, reader]) => reader.bus?.writerDied(node) === true).map(([shard]) => shard)
      if (shardsUnheard.length === 0) return
      log.warn({ writers: [node], shards: shardsUnheard }, 'cluster bus: writers were declared dead before they were heard from on a shard after Redis came back; entries of theirs Redis had acknowledged may be lost in a failover of Redis; subscribed clients of this node reconnect and are told recovered === false')
      onFellBehind()
    },

    close (): void {
      closed = true
      for (const [shard, reader] of [...readers]) {
        clearTimeout(reader.stopping)
        stop(shard, reader)
      }
    }
  }
}

export type ShardedBus = ReturnType<typeof createShardedBus>
