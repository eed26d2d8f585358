// The backplane of a cluster on Redis: a stream every node appends to and reads in order
// (stream-bus.ts), pub/sub for whispers and questions (pub-sub.ts), claims and sessions as keys,
// node liveness from heartbeats (nodes.ts). A starting node says hello and waits for the others'
// snapshots. Which Redis deployment it runs on (one Redis, Sentinel, Redis Cluster) is connection.ts's.
import { randomBytes } from 'node:crypto'
import type { EncodedEvent } from '../../channels/delivery.ts'
import { RedisUnavailable } from '../../http/errors.ts'
import type { Log } from '../../ops/log.ts'
import type { Backplane, BusMessage, NodeHandler, PublishClaims, Question } from '../backplane.ts'
import { claimThenPublish } from '../claim-then-publish.ts'
import { connectDeployment, describeDeployment, RedisUnreachableError, STARTUP_WAIT_MS, type RedisClient, type RedisDeployment } from './connection.ts'
import { DeadlineError, within } from './deadline.ts'
import { claimPendingThenPublish, PartlyHandedOn } from '../pending-claims.ts'
import { claimsAcrossSlots, pendingClaimsInRedis } from './cluster-claims.ts'
import { checkClaimEviction } from './eviction-policy.ts'
import { createNodes } from './nodes.ts'
import { createPubSub } from './pub-sub.ts'
import { RedisClaimStore, unavailableWithoutRedis } from './redis-claims.ts'
import { createRedisSessionStore } from './redis-sessions.ts'
import { createStreamBus } from './stream-bus.ts'
import { CONTROL, positionIn, type Clock } from '../positions.ts'
import { CLUSTER_SHARDS } from './bus-shards.ts'
import { createShardedBus } from './sharded-bus.ts'
import { formatClock, formatPosition, parseClock, parsePosition } from './stream-codec.ts'
import { createRedisWebhookLog } from './webhook-log.ts'

export interface RedisBackplaneOptions {
  deployment: RedisDeployment
  prefix: string
  maxEntries: number
  recoveryWindowMs: number
  log: Log
}

/** On one Redis and Sentinel the bus is one stream: one shard for every channel. */
const BUS = 0

/** A starting node hears every live node's heartbeat within this. */
const HEARD_FROM_ALL_WITHIN_MS = 1200
/** Longest a starting node waits for the other nodes' snapshots. */
const STARTUP_SNAPSHOTS_WITHIN_MS = 4000

function unavailable (what: string): Error {
  return new RedisUnavailable(`Redis is unreachable (cluster mode); ${what}, retry later`)
}

async function duplicates (client: RedisClient, where: string, log: Log, lost: () => boolean): Promise<{ reader: RedisClient, subscriber: RedisClient }> {
  const reader = client.duplicate()
  const subscriber = client.duplicate()
  reader.on('error', () => {})
  // Redis may close a subscriber alone (its output buffer limit for pub/sub): say what went.
  let subscriberLost = false
  subscriber.on('error', () => { if (!subscriber.isReady) subscriberLost = true })
  subscriber.on('ready', () => {
    if (!subscriberLost) return
    subscriberLost = false
    if (!lost()) log.warn({ redis: where }, 'cluster bus: Redis closed the pub/sub connection; whispers and room-count questions sent meanwhile were lost (client-output-buffer-limit pubsub, docs/cluster.md)')
  })
  try {
    await within(Promise.all([reader.connect(), subscriber.connect()]), STARTUP_WAIT_MS, 'connecting')
  } catch {
    client.destroy()
    throw new RedisUnreachableError(`cluster mode: ${where} stopped answering while the bridge started`)
  }
  return { reader, subscriber }
}

export async function createRedisBackplane ({ deployment, prefix, maxEntries, recoveryWindowMs, log }: RedisBackplaneOptions): Promise<Backplane> {
  const where = describeDeployment(deployment)
  const nodeId = randomBytes(8).toString('hex')
  const client = await connectDeployment(deployment, `${prefix}node:${nodeId}`)
  log.info({ redis: where, node: nodeId }, 'cluster mode: connected to Redis')
  let handler: NodeHandler | undefined

  // One line when the connection goes and one when it is back, not one per retry.
  let lost = false
  let reconnects = 0
  let eventsRead = 0
  function goneAway (reason: string): void {
    if (lost) return
    lost = true
    log.error({ redis: where, reason }, 'Redis unreachable: /ready answers 503 and publishes are refused until it is back')
  }
  client.on('error', (error: Error) => { if (!client.isReady) goneAway(error.message) })
  // A Sentinel client stays open while it moves to a new primary: it says 'reconnecting'.
  client.on('reconnecting', () => { if (!client.isReady) goneAway('reconnecting to Redis') })
  client.on('topology-change', (change: { type: string, node: { host: string, port: number } }) => {
    if (change.type === 'MASTER_CHANGE') log.warn({ redis: where, primary: `${change.node.host}:${change.node.port}` }, 'cluster mode: the sentinels named a new Redis primary; the bridge moves to it')
  })
  function back (): void {
    if (!lost) return
    lost = false
    reconnects += 1
    log.info({ redis: where }, 'Redis reachable again')
    stream.distrustEarlier()
    sharded?.distrustEarlier()
    startOver()
    // The others this node counts as alive: each must be heard from again (awaited-writers.ts).
    const writers = nodes.known().filter((node) => node !== nodeId)
    Promise.all([stream.resync(writers), sharded?.resync(writers)]).then(() => Promise.all([stream.append({ type: 'hello', lost: true }), sharded?.checkpoint()])).catch((error: unknown) => {
      log.debug({ reason: String(error) }, 'cluster bus: resync failed')
    })
  }
  client.on('ready', back)
  // A Redis Cluster client stays ready while one of its primaries is away: it tells per node.
  client.on('node-reconnecting', () => goneAway('a primary of the Redis Cluster is unreachable'))
  client.on('node-ready', back)
  const { reader, subscriber } = await duplicates(client, where, log, () => lost)

  function announce (message: BusMessage | { type: 'hello' } | { type: 'dead', node: string }): void {
    stream.append(message).catch((error: unknown) => {
      log.debug({ type: message.type, reason: String(error) }, 'bus message not sent')
    })
  }

  function announceState (): void {
    if (handler !== undefined) announce({ type: 'snapshot', ...handler.state() })
  }

  /** Messages may have been lost: nothing before now is recoverable, and the others learn this node's state again. */
  function startOver (skipped = false): void {
    handler?.lost(skipped)
    announceState()
  }

  const nodes = createNodes({
    nodeId,
    recoveryWindowMs,
    onDied: (node) => handler?.nodeDied(node),
    onForgotten (node) {
      stream.forgetWriter(node)
      handler?.nodeForgotten(node)
    }
  })
  // On a Redis Cluster each channel's events go to its shard's stream, read by the nodes that need them.
  const sharded = deployment.kind !== 'cluster'
    ? undefined
    : createShardedBus({
      client,
      prefix,
      shards: CLUSTER_SHARDS,
      nodeId,
      log,
      maxEntries,
      keepMs: recoveryWindowMs,
      onEntry (shard, position, node, message) {
        if (message?.type !== 'events') return
        eventsRead += message.events.length
        handler?.apply(shard, position, node, message)
      },
      onFellBehind: () => { startOver(true) },
      onStarted: (shard, position) => handler?.started(shard, position),
      onStopped: (shard) => handler?.stopped(shard)
    })
  /** Where the nodes' own messages are: the one stream, or the split bus's own. */
  const ownShard = sharded === undefined ? BUS : CONTROL
  const stream = await createStreamBus({
    client,
    reader,
    stream: `${prefix}bus`,
    nodeId,
    log,
    maxEntries,
    keepMs: recoveryWindowMs,
    onEntry (position, node, message) {
      nodes.seen(node)
      if (message === undefined) return
      nodes.spoke(node)
      switch (message.type) {
        case 'hello':
          if (node !== nodeId) announceState()
          return handler?.passed(ownShard, position)
        case 'dead':
          // Taken for dead while alive (a long pause): tell the others what this node has.
          if (message.node === nodeId) announceState()
          else {
            nodes.died(message.node)
            sharded?.writerDied(message.node)
          }
          nodes.unseen(message.node)
          return handler?.passed(ownShard, position)
        case 'snapshot':
          nodes.snapshotFrom(node)
          break
        case 'events':
          eventsRead += message.events.length
          break
      }
      handler?.apply(ownShard, position, node, message)
    },
    onFellBehind: () => { startOver(true) },
    onHeartbeat () {
      for (const node of nodes.overdue()) {
        log.warn({ node }, 'cluster node stopped sending heartbeats: its members leave')
        stream.append({ type: 'dead', node }).catch(() => nodes.undeclare(node))
      }
    }
  })

  const pubSub = await createPubSub({
    client,
    subscriber,
    prefix,
    nodeId,
    log,
    // Plain PUBLISH on a Redis Cluster goes to every node of it; sharded pub/sub to one primary.
    sharded: deployment.kind === 'cluster',
    onEphemeral: (events) => handler?.deliver(events),
    answer: (question) => handler?.answer(question)
  })
  await checkClaimEviction(client, log, where)

  const ready = () => stream.ready()
  const claimPrefix = `${prefix}idempotency:`
  const claimStore = new RedisClaimStore(client, claimPrefix)
  const claims = unavailableWithoutRedis(deployment.kind === 'cluster' ? claimsAcrossSlots(claimStore) : claimStore, ready)
  const pendingClaims = pendingClaimsInRedis(client, claimPrefix, ready)
  function unconfirmed (error: unknown): void {
    log.warn({ reason: String(error) }, 'published, but the claim was not confirmed in Redis: a retry after it expires is delivered again')
  }
  const webhooks = createRedisWebhookLog({ client, prefix, nodeId, log })
  const sessions = createRedisSessionStore({ client, prefix: `${prefix}session:`, ttlMs: recoveryWindowMs, nodeId, nodes: () => nodes.sessionNodes() })

  async function handOn (events: readonly EncodedEvent[]): Promise<void> {
    // Ephemeral events (whispers) never enter the stream: nothing keeps them past delivery.
    const ephemeral = events.filter((event) => event.ephemeral === true)
    const kept = ephemeral.length === 0 ? events : events.filter((event) => event.ephemeral !== true)
    const [keptSent, ephemeralSent] = await Promise.allSettled([
      kept.length > 0 && (sharded === undefined ? stream.append({ type: 'events', events: kept }) : sharded.append(kept)),
      ephemeral.length > 0 && pubSub.sendEphemeral(ephemeral)
    ])
    if (keptSent.status === 'fulfilled' && ephemeralSent.status === 'fulfilled') return
    const failed = keptSent.status === 'rejected' ? keptSent.reason : (ephemeralSent as PromiseRejectedResult).reason
    log.warn({ reason: String(failed) }, 'delivery failed: Redis did not store the events')
    // On a split bus some shards may have stored theirs, or may store them yet: the caller learns which.
    const partial = keptSent.status === 'rejected' && keptSent.reason instanceof PartlyHandedOn ? keptSent.reason : undefined
    const keptHandedOn = keptSent.status === 'fulfilled' ? kept.map(() => true) : partial?.handedOn
    const keptUnanswered = partial?.unanswered ?? []
    if (keptHandedOn === undefined || (!keptHandedOn.includes(true) && keptUnanswered.every((answer) => answer === undefined))) {
      throw new RedisUnavailable('Redis did not store the event (cluster mode); retry later')
    }
    const handedOn: boolean[] = []
    const unanswered: Array<Promise<boolean> | undefined> = []
    let keptIndex = 0
    for (const event of events) {
      if (event.ephemeral === true) {
        handedOn.push(ephemeralSent.status === 'fulfilled')
        unanswered.push(undefined)
      } else {
        handedOn.push(keptHandedOn[keptIndex] === true)
        unanswered.push(keptUnanswered[keptIndex])
        keptIndex += 1
      }
    }
    throw new PartlyHandedOn(handedOn, failed, unanswered)
  }

  /**
   * Only some events of a batch were stored (a primary of a Redis Cluster is away), or Redis did
   * not answer in time for some: the publish is answered 503 whole.
   */
  function partly (error: unknown): unknown {
    if (!(error instanceof PartlyHandedOn)) return error
    if (!error.handedOn.includes(true)) return new RedisUnavailable('Redis did not answer in time (cluster mode); the event may still be stored, retry later with the same uuid')
    return new RedisUnavailable('Redis stored only some of the events (cluster mode); retry the whole batch with the same uuids: those delivered are answered as duplicates')
  }

  /** So that the first presence members it gives are complete, a starting node waits for every node's snapshot. */
  async function othersKnown (): Promise<void> {
    const started = Date.now()
    while (Date.now() - started < STARTUP_SNAPSHOTS_WITHIN_MS) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      if (Date.now() - started < HEARD_FROM_ALL_WITHIN_MS) continue
      if (nodes.withoutSnapshot().length === 0) return
    }
    const missing = nodes.withoutSnapshot()
    if (missing.length > 0) log.warn({ nodes: nodes.known().length, missing }, 'cluster mode: started without every node\'s presence members; they follow')
  }

  return {
    nodeId,
    claims,
    sessions,
    webhooks,
    readiness: [{ name: 'Redis unreachable (cluster mode)', ready }],
    async start (applyWith: NodeHandler) {
      handler = applyWith
      stream.start()
      await stream.append({ type: 'hello' })
      // Nodes starting at the same time may begin reading after this hello and never answer it:
      // this node's own state tells them it is there (it has no members yet, so nothing is lost).
      announceState()
      await othersKnown()
      webhooks.joined()
    },
    async publish (events: readonly EncodedEvent[], request?: PublishClaims) {
      if (!ready()) throw unavailable('nothing was published')
      if (request === undefined || (request.guard === undefined && request.keys.every((key) => key === undefined))) {
        await handOn(events).catch((error: unknown) => { throw partly(error) })
        return events.map(() => true)
      }
      // On a Redis Cluster the claims lie in other slots than the stream, which no script can
      // touch together: they are pending until the events are handed on.
      if (deployment.kind === 'cluster') return await claimPendingThenPublish(pendingClaims, events, request, handOn, { unconfirmed }).catch((error: unknown) => { throw partly(error) })
      // Whispers go over pub/sub, which no script can join.
      if (events.some((event) => event.ephemeral === true)) return await claimThenPublish(claims, events, request, handOn).catch((error: unknown) => { throw partly(error) })
      try {
        // One script claims and appends: a node that dies meanwhile leaves both or neither.
        return await stream.appendClaimed(events, {
          keys: request.keys.map((key) => key === undefined ? undefined : claimPrefix + key),
          ttlSeconds: request.ttlSeconds,
          ...(request.guard !== undefined && { guard: { key: claimPrefix + request.guard.key, ttlSeconds: request.guard.ttlSeconds } })
        })
      } catch (error) {
        log.warn({ reason: String(error) }, 'delivery failed: Redis did not store the events')
        // A late answer still claims and stores together: a retry then finds a duplicate that was delivered.
        if (error instanceof DeadlineError) throw new RedisUnavailable('Redis did not answer in time (cluster mode); the event may still be stored, retry later with the same uuid')
        throw new RedisUnavailable('Redis did not store the event (cluster mode); retry later')
      }
    },
    send: (message) => stream.append(message),
    ready,
    shardOf: sharded?.shardOf ?? (() => BUS),
    watch: (channel) => sharded?.watch(channel),
    unwatch: (channel) => sharded?.unwatch(channel),
    reading: async (channel) => await sharded?.reading(channel),
    formatOffset: (clock: Clock) => sharded === undefined ? formatPosition(positionIn(clock, BUS)) : formatClock(clock),
    parseOffset (offset: string): Clock | undefined {
      if (sharded !== undefined) return parseClock(offset, CLUSTER_SHARDS)
      const position = parsePosition(offset)
      return position === undefined ? undefined : new Map([[BUS, position]])
    },
    async caughtUp () {
      await Promise.all([stream.caughtUp(), sharded?.caughtUp()])
    },
    stats: () => ({ lagSeconds: Math.max(stream.lagSeconds(), sharded?.lagSeconds() ?? 0), reconnects, shardsRead: sharded?.shardsRead() ?? 1, eventsRead }),
    readBack: async (after, upTo) => sharded === undefined ? await stream.readBack(after, positionIn(upTo, BUS)) : await sharded.readBack(after, upTo),
    async ask (question: Question) {
      if (!ready()) throw unavailable(question.type === 'count' ? 'the room cannot be counted' : 'the channels cannot be listed')
      if (handler === undefined) return []
      try {
        return await pubSub.ask(question, handler.answer(question), nodes.alive())
      } catch (error) {
        log.warn({ question: question.type, reason: String(error) }, 'the cluster did not answer in time')
        throw new RedisUnavailable('Not every node answered in time (cluster mode); retry later')
      }
    },
    async close () {
      await webhooks.close()
      await sessions.close()
      await claims.close()
      stream.close()
      sharded?.close()
      for (const duplicate of [reader, subscriber]) duplicate.destroy()
      if (client.isReady) await client.close()
      else client.destroy()
    }
  }
}
