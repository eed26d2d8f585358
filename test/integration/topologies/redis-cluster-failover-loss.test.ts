// A Redis Cluster failover that loses events Redis acknowledged (answered 202) on a shard of the
// bus: the replica of the shard's primary is cut off and stopped while they are published, the
// other bridge node is stopped so it has not read them, and the primary dies. The shards carry
// no heartbeats: the stopped node finds them missing by the mark the publishing node leaves on
// the shard when Redis is back, and its client reconnects told recovered === false. The
// publishing node, which read them, delivered them and delivers nothing twice. Both serve again
// within 15 s.
import t from 'tap'
import { metricOf, postJson, waitFor } from '../../helpers/bridge.ts'
import { bridgeProcess, everyNodeReady, follower, lossOutcome, numberedPublisher, roomOffTheControlStream } from '../../helpers/failover-loss.ts'
import { command, redisClusterEnv, startRedisCluster } from '../../helpers/redis-topologies.ts'
import { SERVING_AGAIN_WITHIN_MS } from '../../helpers/topology-behaviour.ts'

t.setTimeout(180_000)

t.test('acknowledged events lost on a shard in a failover: the node that missed them tells its client recovered === false, none gets one twice', async (t) => {
  const cluster = await startRedisCluster(t)
  const env = redisClusterEnv(cluster)
  const { room, shardKey } = await roomOffTheControlStream(cluster, env.BRIDGE_REDIS_PREFIX, 'chat_loss')
  const primary = await cluster.primaryOf(shardKey)
  const replica = await cluster.replicaOf(primary)

  const a = await bridgeProcess(t, env)
  const b = await bridgeProcess(t, env)
  const onA = await follower(t, a.url, room)
  const onB = await follower(t, b.url, room)

  const { accepted, publish } = numberedPublisher(b.url, room)
  // Node A reads node B's first entries on the shard: it counts B's numbers from there.
  await publish(0, 4)
  await waitFor(() => onA.seen.numbers.includes(4) && onB.seen.numbers.includes(4), 'both clients to get the first events')

  // Node A stops reading; the replica is stopped and cut off, so what follows stays on the primary alone.
  a.child.kill('SIGSTOP')
  replica.pause()
  await command(primary.port, 'CLIENT', 'KILL', 'TYPE', 'replica')
  await publish(5, 14)
  t.same(accepted.slice(5), [5, 6, 7, 8, 9, 10, 11, 12, 13, 14], 'answered 202 by the primary')
  await waitFor(() => onB.seen.numbers.includes(14), 'node B to deliver them')

  const holds14 = async (port: number) => (await command(port, 'XRANGE', shardKey, '-', '+') as Array<[string, string[]]>)
    .some(([, fields]) => fields.some((field) => field.includes('"n":14')))
  t.ok(await holds14(primary.port), 'the primary holds them')

  const failedAt = Date.now()
  await cluster.killPrimary(primary, () => replica.resume())
  t.equal((await cluster.primaryOf(shardKey)).port, replica.port, 'the replica was promoted')
  t.notOk(await holds14(replica.port), 'the new primary lacks events answered 202 (the loss this test is about)')
  a.child.kill('SIGCONT')

  // Nothing is published meanwhile: node A finds the loss by the mark node B left on the shard
  // when Redis came back.
  await waitFor(() => onA.seen.resubscribed > 0, 'the client of node A to reconnect and subscribe again', SERVING_AGAIN_WITHIN_MS)
  await waitFor(() => everyNodeReady([a.url, b.url]), 'both nodes ready again', SERVING_AGAIN_WITHIN_MS)
  await waitFor(async () => (await postJson(b.url, '/api/sms/new-message', { room, message: { n: 15 } })).status === 202, 'publishing again', SERVING_AGAIN_WITHIN_MS)
  accepted.push(15)
  await publish(16, 19)
  await waitFor(() => [onA, onB].every(({ seen }) => seen.numbers.includes(19)), 'events published after the failover on both nodes', SERVING_AGAIN_WITHIN_MS)
  const servingAfterMs = Date.now() - failedAt
  t.ok(servingAfterMs < SERVING_AGAIN_WITHIN_MS, `serving again ${servingAfterMs} ms after the primary was killed`)

  lossOutcome(t, { accepted, lost: 14, told: ['A', onA.seen], untold: ['B', onB.seen] })
  t.same(accepted.filter((n) => n > 14 && !onA.seen.numbers.includes(n)), [], 'the client of node A got those published after it came back')
  t.equal(await metricOf(a.url, 'bridge_recovery_unrecoverable_total'), 1, 'counted in bridge_recovery_unrecoverable_total on node A')
  t.equal(await metricOf(b.url, 'bridge_recovery_unrecoverable_total'), 0, 'and not on node B')
  await a.logLine('cluster bus: entries Redis had acknowledged are missing')
})
