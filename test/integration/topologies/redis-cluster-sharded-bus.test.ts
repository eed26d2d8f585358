// On a Redis Cluster the bus is split by channel (src/backplane/redis/bus-shards.ts): each
// channel's events go to one of 16 shard streams spread over the primaries, and a node reads
// only the shards of its sockets' channels. A client's offset is then a clock, a position per
// shard, and it recovers each channel from its own shard's position, on either node.
import t from 'tap'
import { CLUSTER_SHARDS, shardOf, shardStream } from '../../../src/backplane/redis/bus-shards.ts'
import { connectClient, metricOf, postJson, recordEvents, startBridge, subscribe, unsubscribe, waitFor } from '../../helpers/bridge.ts'
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
