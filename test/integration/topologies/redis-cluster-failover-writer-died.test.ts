// A Redis Cluster failover that loses events Redis acknowledged (answered 202) on a shard of the
// bus, and the node that published them dies before its mark reaches the shard, after heartbeats
// of it reached the stream every node reads (on another primary). The other node had not read
// them (it was stopped); it awaited the writer on the shard since Redis came back, and the
// writer was declared dead first: its client reconnects told recovered === false, once, is
// counted, and gets nothing twice. The new primary refuses writes (CLIENT PAUSE WRITE) from the
// failover until the writer is killed, so that its mark never lands.
import t from 'tap'
import { metricOf, postJson, waitFor } from '../../helpers/bridge.ts'
import { bridgeProcess, everyNodeReady, follower, numberedPublisher, roomOffTheControlStream } from '../../helpers/failover-loss.ts'
import { command, redisClusterEnv, startRedisCluster } from '../../helpers/redis-topologies.ts'
import { SERVING_AGAIN_WITHIN_MS } from '../../helpers/topology-behaviour.ts'

t.setTimeout(180_000)

t.test('acknowledged events lost on a shard in a failover their writer died in before its mark: the client that missed them is told recovered === false', async (t) => {
  const cluster = await startRedisCluster(t)
  const env = redisClusterEnv(cluster)
  const control = `${env.BRIDGE_REDIS_PREFIX}bus`
  const busPrimary = await cluster.primaryOf(control)
  const { room, shardKey } = await roomOffTheControlStream(cluster, env.BRIDGE_REDIS_PREFIX, 'chat_died')
  const primary = await cluster.primaryOf(shardKey)
  const replica = await cluster.replicaOf(primary)

  const reader = await bridgeProcess(t, env)
  const writer = await bridgeProcess(t, env)
  const onReader = await follower(t, reader.url, room)

  const { accepted, publish } = numberedPublisher(writer.url, room)
  await publish(0, 4)
  await waitFor(() => onReader.seen.numbers.includes(4), 'the reader\'s client to get the first events')

  // The reader stops reading; the replica is stopped and cut off, so what follows stays on the primary alone.
  reader.child.kill('SIGSTOP')
  replica.pause()
  await command(primary.port, 'CLIENT', 'KILL', 'TYPE', 'replica')
  await publish(5, 14)
  t.same(accepted.slice(5), [5, 6, 7, 8, 9, 10, 11, 12, 13, 14], 'answered 202 by the primary')

  // The writer is stopped through the failover; the new primary takes no write until it is dead.
  writer.child.kill('SIGSTOP')
  await cluster.killPrimary(primary, () => replica.resume())
  t.equal((await cluster.primaryOf(shardKey)).port, replica.port, 'the replica was promoted')
  await command(replica.port, 'CLIENT', 'PAUSE', '60000', 'WRITE')
  const held = await command(replica.port, 'XRANGE', shardKey, '-', '+') as Array<[string, string[]]>
  t.notOk(held.some(([, fields]) => fields.some((field) => field.includes('"n":14'))), 'the new primary lacks events answered 202 (the loss this test is about)')

  // Both go on: the reader resyncs (awaiting the writer), the writer's heartbeats reach the
  // stream every node reads after that, its mark on the shard waits on the paused primary.
  const beatsBefore = (await command(busPrimary.port, 'XLEN', control)) as number
  reader.child.kill('SIGCONT')
  writer.child.kill('SIGCONT')
  await reader.logLine('Redis reachable again')
  await new Promise((resolve) => setTimeout(resolve, 3000))
  t.ok((await command(busPrimary.port, 'XLEN', control)) as number > beatsBefore, 'heartbeats reached the stream every node reads')
  writer.child.kill('SIGKILL')
  await new Promise((resolve) => setTimeout(resolve, 200))
  await command(replica.port, 'CLIENT', 'UNPAUSE')
  const after = await command(replica.port, 'XRANGE', shardKey, '-', '+') as Array<[string, string[]]>
  t.equal(after.length, held.length, 'no mark of the writer reached the shard')

  await waitFor(() => everyNodeReady([reader.url]), 'the reader ready again', SERVING_AGAIN_WITHIN_MS)
  // Declared dead after NODE_TIMEOUT_MS without a heartbeat.
  await waitFor(() => onReader.seen.reconnects.length > 0, 'the reader\'s client to reconnect', 20_000)
  await waitFor(() => onReader.seen.resubscribed > 0, 'the reader\'s client to subscribe again')
  await waitFor(async () => (await postJson(reader.url, '/api/sms/new-message', { room, message: { n: 15 } })).status === 202, 'publishing again', SERVING_AGAIN_WITHIN_MS)
  await waitFor(() => onReader.seen.numbers.includes(15), 'an event published after the failover')

  const { seen } = onReader
  t.same(seen.numbers, [...new Set(seen.numbers)], 'no event twice')
  t.notOk(seen.numbers.includes(14), 'the reader\'s client missed the lost events (the case under test)')
  t.same(seen.reconnects, [false], 'the reader\'s client was told recovered === false, once')
  t.equal(await metricOf(reader.url, 'bridge_recovery_unrecoverable_total'), 1, 'counted in bridge_recovery_unrecoverable_total')
  await reader.logLine('cluster bus: writers were declared dead before they were heard from on a shard')
})
