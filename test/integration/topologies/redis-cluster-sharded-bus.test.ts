// On a Redis Cluster the bus is split by channel (src/backplane/redis/bus-shards.ts): each
// channel's events go to one of 16 shard streams spread over the primaries, and a node reads
// only the shards of its sockets' channels. A client's offset is then a clock, a position per
// shard, and it recovers each channel from its own shard's position, on either node. A batch
// over shards of two primaries is one append per shard: with one primary stopped, or refusing
// writes, it is stored in part, answered 503 whole, and its retry delivers nothing twice.
import { setTimeout as sleep } from 'node:timers/promises'
import t, { type Test } from 'tap'
import { CLUSTER_SHARDS, shardOf, shardStream } from '../../../src/backplane/redis/bus-shards.ts'
import { PENDING_CLAIM_SECONDS } from '../../../src/backplane/pending-claims.ts'
import { connectClient, metricOf, postJson, recordEvents, startBridge, subscribe, unsubscribe, waitFor } from '../../helpers/bridge.ts'
import { bridgeProcess } from '../../helpers/failover-loss.ts'
import { loadBalancer } from '../../helpers/load-balancer.ts'
import { dropConnection, eventsArrived, reconnect } from '../../helpers/recovery.ts'
import { command, redisClusterEnv, startRedisCluster } from '../../helpers/redis-topologies.ts'

t.setTimeout(180_000)

const cluster = await startRedisCluster(t)

/** Room names whose channels (`private-<room>`) lie in different shards. */
function roomsInDifferentShards (count: number, prefix: string): string[] {
  const rooms: string[] = []
  const shards = new Set<number>()
  for (let n = 0; rooms.length < count; n++) {
    const shard = shardOf(`private-${prefix}${n}`, CLUSTER_SHARDS)
    if (shards.has(shard)) continue
    shards.add(shard)
    rooms.push(`${prefix}${n}`)
  }
  return rooms
}

const numbers = (received: Array<{ data: unknown }>) => received.map(({ data }) => (data as { message: { n: number } }).message.n)

t.test('a node reads only the shards of its sockets\' channels: the publishing node without sockets reads no event', async (t) => {
  const env = redisClusterEnv(cluster)
  const a = await startBridge(t, env)
  const b = await startBridge(t, env)
  const client = await connectClient(t, a.url)
  await subscribe(client, 'chat_reader')
  const received = recordEvents(client)
  for (let n = 1; n <= 50; n++) t.equal((await postJson(b.url, '/api/sms/new-message', { room: 'chat_reader', message: { n } })).status, 202)
  await eventsArrived(client, received, 50)
  t.same(numbers(received), Array.from({ length: 50 }, (_unused, i) => i + 1), 'all 50 in order')
  t.equal(await metricOf(a.url, 'bridge_backplane_shards_read'), 1, 'node A reads the one shard of its socket\'s channel')
  t.ok(await metricOf(a.url, 'bridge_backplane_events_read_total') >= 50, 'and its events')
  t.equal(await metricOf(b.url, 'bridge_backplane_shards_read'), 0, 'node B, with no socket, reads no shard')
  t.equal(await metricOf(b.url, 'bridge_backplane_events_read_total'), 0, 'and not one of the events it published')
})

t.test('events spread over the primaries; the stream every node reads carries none', async (t) => {
  const env = redisClusterEnv(cluster)
  const a = await startBridge(t, env)
  const rooms = Array.from({ length: 64 }, (_unused, n) => `spread_${n}`)
  for (const room of rooms) t.equal((await postJson(a.url, '/api/sms/new-message', { room, message: { n: 1 } })).status, 202)

  const lengths = new Map<number, number>()
  const primaries = new Map<number, number>()
  const expiries: number[] = []
  for (let shard = 0; shard < CLUSTER_SHARDS; shard++) {
    const key = shardStream(env.BRIDGE_REDIS_PREFIX, shard, CLUSTER_SHARDS)
    const primary = await cluster.primaryOf(key)
    const length = Number(await command(primary.port, 'XLEN', key))
    lengths.set(shard, length)
    if (length > 0) expiries.push(Number(await command(primary.port, 'PTTL', key)))
    primaries.set(primary.port, (primaries.get(primary.port) ?? 0) + length)
  }
  const entries = [...lengths.values()].reduce((sum, length) => sum + length, 0)
  t.equal(entries, rooms.length, 'one entry per publish, in the shards')
  t.ok(Math.max(...lengths.values()) < rooms.length / 4, `no shard holds most of them (at most ${Math.max(...lengths.values())} of ${rooms.length})`)
  t.equal(primaries.size, 3, 'the shards lie on all three primaries')
  t.ok(expiries.every((ms) => ms > 0 && ms <= 120_000), 'each shard\'s stream expires within the recovery window of its last append')
  t.ok([...primaries.values()].every((count) => count > 0), `every primary stores events (${[...primaries.values()].join(', ')})`)
  const bus = `${env.BRIDGE_REDIS_PREFIX}bus`
  const own = await command((await cluster.primaryOf(bus)).port, 'XRANGE', bus, '-', '+') as Array<[string, string[]]>
  t.notOk(own.some(([, fields]) => fields[1] === 'events'), 'the nodes\' own stream carries no event')
})

t.test('a client in channels of two shards recovers each on the other node, and again there, exactly once', async (t) => {
  const env = redisClusterEnv(cluster)
  const a = await startBridge(t, env)
  const b = await startBridge(t, env)
  const [first, second] = roomsInDifferentShards(2, 'two_') as [string, string]
  const balancer = await loadBalancer(t, b.url)
  const client = await connectClient(t, balancer.url)
  await subscribe(client, first)
  await subscribe(client, second)
  const received = recordEvents(client)
  const publish = async (url: string, room: string, n: number) => {
    t.equal((await postJson(url, '/api/sms/new-message', { room, message: { n } })).status, 202)
  }
  await publish(a.url, first, 1)
  await publish(a.url, second, 2)
  await eventsArrived(client, received, 2)

  // Away from node B; back on node A, which reads neither shard yet.
  balancer.pointTo(a.url)
  await dropConnection(client, b.fastify)
  await publish(b.url, first, 3)
  await publish(a.url, second, 4)
  await publish(b.url, first, 5)
  const missed = eventsArrived(client, received, 5)
  await reconnect(client)
  t.equal(client.recovered, true, 'recovered on node A')
  await missed

  // Away from node A now: only what came after the last event it got in each channel.
  await dropConnection(client, a.fastify)
  await publish(b.url, second, 6)
  await publish(b.url, first, 7)
  const more = eventsArrived(client, received, 7)
  await reconnect(client)
  t.equal(client.recovered, true, 'recovered on node A again')
  await more
  await publish(a.url, second, 8)
  await eventsArrived(client, received, 8)
  const inRoom = (room: string) => received.filter(({ data }) => (data as { room: string }).room === room).map(({ data }) => (data as { message: { n: number } }).message.n)
  t.same(inRoom(first), [1, 3, 5, 7], `${first}: each once, in order`)
  t.same(inRoom(second), [2, 4, 6, 8], `${second}: each once, in order`)
})

t.test('a shard is read no more a while after its last channel goes', async (t) => {
  const a = await startBridge(t, redisClusterEnv(cluster))
  const client = await connectClient(t, a.url)
  await subscribe(client, 'chat_leaving')
  t.equal(await metricOf(a.url, 'bridge_backplane_shards_read'), 1, 'read while subscribed')
  await unsubscribe(client, 'chat_leaving')
  await waitFor(async () => await metricOf(a.url, 'bridge_backplane_shards_read') === 0, 'the shard to be read no more', 20_000)
  await subscribe(client, 'chat_leaving')
  const received = recordEvents(client)
  t.equal((await postJson(a.url, '/api/sms/new-message', { room: 'chat_leaving', message: { n: 1 } })).status, 202)
  await eventsArrived(client, received, 1)
  t.same(numbers(received), [1], 'read again once subscribed again')
})

/**
 * A batch over two primaries, as a Laravel queued job sends it (and sends again when retried):
 * one event in a room whose shard lies on `away`, one in a room whose shard does not. `away`
 * holds neither the stream every node reads (its heartbeats keep the nodes ready) nor the claims
 * of the two uuids. Two bridge processes: a client on `reading` is in both rooms; the batch is
 * for `publishing`.
 */
async function batchOverTwoPrimaries (t: Test, env: ReturnType<typeof redisClusterEnv>, name: string) {
  const prefix = env.BRIDGE_REDIS_PREFIX
  const claimKey = (uuid: string) => `${prefix}idempotency:${uuid}`
  const control = await cluster.primaryOf(`${prefix}bus`)
  const away = (await cluster.primaries()).find(({ port }) => port !== control.port)
  if (away === undefined) throw new Error('no primary besides the one of the nodes\' stream')
  const onAway = async (key: string) => (await cluster.primaryOf(key)).port === away.port
  let storedRoom = ''
  let awayRoom = ''
  for (let n = 0; storedRoom === '' || awayRoom === ''; n++) {
    const room = `${name}_${n}`
    if (await onAway(shardStream(prefix, shardOf(`private-${room}`, CLUSTER_SHARDS), CLUSTER_SHARDS))) awayRoom ||= room
    else storedRoom ||= room
  }
  const claimPorts = new Map<string, number>()
  for (let n = 0; claimPorts.size < 2; n++) {
    const primary = await cluster.primaryOf(claimKey(`${name}-${n}`))
    if (primary.port !== away.port) claimPorts.set(`${name}-${n}`, primary.port)
  }
  const [storedUuid, awayUuid] = [...claimPorts.keys()] as [string, string]
  const claimOf = async (uuid: string) => await command(claimPorts.get(uuid) as number, 'GET', claimKey(uuid))

  const reading = await bridgeProcess(t, env)
  const publishing = await bridgeProcess(t, env)
  const client = await connectClient(t, reading.url)
  await subscribe(client, storedRoom)
  await subscribe(client, awayRoom)
  const received = recordEvents(client)
  const uuidsReceived = () => received.flatMap(({ event, data }) => event === 'new_message' ? [(data as { uuid: string }).uuid] : [])
  const batch = {
    events: [
      { type: 'new-message', room: storedRoom, uuid: storedUuid, message: { text: 'stored' } },
      { type: 'new-message', room: awayRoom, uuid: awayUuid, message: { text: 'on the other primary' } }
    ]
  }
  /** Anything published in a room arrives before what is published there after it: a later event in each shows every uuid arrived once. */
  async function eachDeliveredOnce (t: Test) {
    for (const room of [storedRoom, awayRoom]) {
      t.equal((await postJson(publishing.url, '/api/sms/status-update', { room, messageId: 1, status: 'read' })).status, 202, `a later event in ${room}`)
    }
    await waitFor(() => received.filter(({ event }) => event === 'status_update').length === 2, 'the events published after the retry')
    t.same(uuidsReceived().sort(), [storedUuid, awayUuid].sort(), 'each event delivered once')
  }
  /** Posts the batch while the primary is away: answered 503 whole, and the stored event alone delivered. */
  async function postedInPart (t: Test) {
    const refused = await postJson(publishing.url, '/api/sms/batch', batch)
    t.equal(refused.status, 503, 'the batch is answered 503 whole')
    t.same(refused.body, storedInPart, 'saying to retry it whole with the same uuids')
    t.equal(refused.headers.get('retry-after'), '5', 'with Retry-After')
    await waitFor(() => uuidsReceived().length > 0, 'the event whose shard stored it')
    t.same(uuidsReceived(), [storedUuid], 'the event whose shard stored it is delivered; the other is not')
    return refused
  }
  return { away, storedRoom, awayRoom, storedUuid, awayUuid, claimOf, publishing, uuidsReceived, batch, eachDeliveredOnce, postedInPart }
}

/** The answer to a batch stored in part. */
const storedInPart = {
  statusCode: 503,
  error: 'Service Unavailable',
  message: 'Redis stored only some of the events (cluster mode); retry the whole batch with the same uuids: those delivered are answered as duplicates',
  code: 'BRIDGE_REDIS_UNAVAILABLE'
}

t.test('a batch over two primaries while one is stopped: answered 503 whole, the stored event delivered, the retry delivers nothing twice', async (t) => {
  const env = redisClusterEnv(cluster)
  // A primary silent for cluster-node-timeout (1 s here) is failed over. Meanwhile the nodes
  // wait a minute: the stopped primary comes back as the primary it was, with what it was sent.
  const nodeTimeout = async (ms: number) => {
    for (const address of cluster.nodes.split(',')) await command(Number(address.split(':').at(-1)), 'CONFIG', 'SET', 'cluster-node-timeout', String(ms))
  }
  await nodeTimeout(60_000)
  t.teardown(() => nodeTimeout(1000))
  const { away, storedRoom, awayRoom, storedUuid, awayUuid, claimOf, publishing, uuidsReceived, batch, eachDeliveredOnce, postedInPart } = await batchOverTwoPrimaries(t, env, 'partial')

  away.pause()
  t.teardown(() => away.resume())
  const refused = await postedInPart(t)
  t.equal(await claimOf(storedUuid), '1', 'its uuid is confirmed')
  t.equal(await claimOf(awayUuid), 'pending', 'the other uuid stays pending: the stopped primary was sent the append and may still store it')

  // Retried after Retry-After, the primary still stopped: nothing is handed on. The claim,
  // taken more than PENDING_CLAIM_SECONDS ago, is still pending: renewed while unanswered.
  await sleep(Number(refused.headers.get('retry-after')) * 1000)
  const early = await postJson(publishing.url, '/api/sms/batch', batch)
  t.equal(early.status, 503, 'a retry while the append is unanswered is answered 503')
  t.equal(early.body.code, 'BRIDGE_PUBLISH_PENDING', 'as a uuid another request is publishing')
  const retryAfter = Number(early.headers.get('retry-after'))
  t.ok(retryAfter >= 1 && retryAfter <= PENDING_CLAIM_SECONDS, `with Retry-After ${retryAfter} s`)
  t.same(uuidsReceived(), [storedUuid], 'the other event is still not delivered')

  // Going on, the primary runs the append it was sent: the event is stored and delivered now.
  away.resume()
  await waitFor(() => uuidsReceived().length > 1, 'the event the primary stored when it went on')
  await waitFor(async () => await claimOf(awayUuid) === '1', 'its uuid to be confirmed')
  const retried = await postJson(publishing.url, '/api/sms/batch', batch)
  t.equal(retried.status, 202, 'the retry once the primary is back is answered 202')
  t.same(retried.body, {
    ok: true,
    results: [
      { ok: true, event: 'new_message', room: storedRoom, uuid: storedUuid, duplicate: true },
      { ok: true, event: 'new_message', room: awayRoom, uuid: awayUuid, duplicate: true }
    ]
  }, 'each event a duplicate: both were stored')
  await eachDeliveredOnce(t)
})

t.test('a batch over two primaries while one refuses writes: answered 503 whole, the stored event delivered, the retry delivers the other once', async (t) => {
  const env = redisClusterEnv(cluster)
  const { away, storedRoom, awayRoom, storedUuid, awayUuid, claimOf, publishing, uuidsReceived, batch, eachDeliveredOnce, postedInPart } = await batchOverTwoPrimaries(t, env, 'refused')
  const awayStream = shardStream(env.BRIDGE_REDIS_PREFIX, shardOf(`private-${awayRoom}`, CLUSTER_SHARDS), CLUSTER_SHARDS)
  const eventsIn = async (stream: string) => (await command(away.port, 'XRANGE', stream, '-', '+') as Array<[string, string[]]>).filter(([, fields]) => fields[1] === 'events').length

  // A primary past its maxmemory under noeviction refuses every write with an OOM error, a
  // script's too: the shard append stores nothing there, and Redis says so at once.
  const before = await command(away.port, 'CONFIG', 'GET', 'maxmemory*') as Record<string, string>
  const configure = async (maxmemory: string, policy: string) => { await command(away.port, 'CONFIG', 'SET', 'maxmemory', maxmemory, 'maxmemory-policy', policy) }
  const restore = () => configure(before.maxmemory as string, before['maxmemory-policy'] as string)
  t.equal(before.maxmemory, '0', 'the primary has no memory limit before the test')
  await configure('1', 'noeviction')
  t.teardown(restore)
  await postedInPart(t)
  t.match((await publishing.logLine('delivery failed')).reason, /^PartlyHandedOn: .*OOM command not allowed/, 'the primary refused the append: out of memory')
  t.equal(await eventsIn(awayStream), 0, 'the refusing primary stored no event')
  t.equal(await claimOf(storedUuid), '1', 'the stored event\'s uuid is confirmed')
  t.equal(await claimOf(awayUuid), null, 'the other uuid is given back: its event was certainly not stored')

  // Retried whole with the same uuids once the primary takes writes again, as a queued job is.
  await restore()
  const retried = await postJson(publishing.url, '/api/sms/batch', batch)
  t.equal(retried.status, 202, 'the retry is answered 202')
  t.same(retried.body, {
    ok: true,
    results: [
      { ok: true, event: 'new_message', room: storedRoom, uuid: storedUuid, duplicate: true },
      { ok: true, event: 'new_message', room: awayRoom, uuid: awayUuid }
    ]
  }, 'the stored event a duplicate, the other accepted')
  await waitFor(() => uuidsReceived().length > 1, 'the event the retry handed on')
  t.same(uuidsReceived(), [storedUuid, awayUuid], 'delivered now')
  t.equal(await eventsIn(awayStream), 1, 'stored once on the primary that refused it')
  t.equal(await claimOf(awayUuid), '1', 'its uuid is confirmed')
  await eachDeliveredOnce(t)
})
