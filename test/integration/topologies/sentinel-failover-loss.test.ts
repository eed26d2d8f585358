// A Sentinel failover that loses events Redis acknowledged (answered 202): the replica is cut off
// and stopped while they are published, one bridge node is stopped so it has not read them, and
// the primary dies. The node that had not read them finds them missing by the publishing node's
// entry numbers: its client reconnects told recovered === false. The node that had read them
// delivered them and delivers nothing twice. Both serve again within 15 s.
import t from 'tap'
import { metricOf, postJson, startBridge, waitFor } from '../../helpers/bridge.ts'
import { bridgeProcess, everyNodeReady, follower, lossOutcome, numberedPublisher } from '../../helpers/failover-loss.ts'
import { command, sentinelEnv, startSentinelSet } from '../../helpers/redis-topologies.ts'
import { SERVING_AGAIN_WITHIN_MS } from '../../helpers/topology-behaviour.ts'

t.setTimeout(180_000)

const ROOM = 'chat_loss'

t.test('acknowledged events lost in a failover: every client that missed them is told recovered === false, none gets one twice', async (t) => {
  const set = await startSentinelSet(t)
  const env = sentinelEnv(set)
  const a = await startBridge(t, env)
  const b = await bridgeProcess(t, env)
  const onA = await follower(t, a.url, ROOM)
  const onB = await follower(t, b.url, ROOM)

  const { accepted, publish } = numberedPublisher(a.url, ROOM)
  await publish(0, 4)
  await waitFor(() => onA.seen.numbers.includes(4) && onB.seen.numbers.includes(4), 'both clients to get the first events')

  // Node B stops reading; the replica is cut off and stopped, so what follows stays on the primary alone.
  const primary = await set.primary()
  const replica = await set.replica()
  b.child.kill('SIGSTOP')
  replica.pause()
  await command(primary.port, 'CLIENT', 'KILL', 'TYPE', 'replica')
  await publish(5, 14)
  t.same(accepted.slice(5), [5, 6, 7, 8, 9, 10, 11, 12, 13, 14], 'answered 202 by the primary')
  await waitFor(() => onA.seen.numbers.includes(14), 'node A to deliver them')

  const failedAt = Date.now()
  const promoted = await set.killPrimary(() => replica.resume())
  t.equal(promoted.port, replica.port, 'the replica was promoted')
  b.child.kill('SIGCONT')
  const held = await command(promoted.port, 'XRANGE', `${env.BRIDGE_REDIS_PREFIX}bus`, '-', '+') as Array<[string, string[]]>
  t.notOk(held.some(([, fields]) => fields.some((field) => field.includes('"n":14'))), 'the new primary lacks events answered 202 (the loss this test is about)')

  await waitFor(() => everyNodeReady([a.url, b.url]), 'both nodes ready again', SERVING_AGAIN_WITHIN_MS)
  // The client of node B is disconnected once B finds the loss, and comes back not recovered.
  await waitFor(() => onB.seen.reconnects.length > 0, 'the client of node B to reconnect', SERVING_AGAIN_WITHIN_MS)
  await waitFor(async () => (await postJson(a.url, '/api/sms/new-message', { room: ROOM, message: { n: 15 } })).status === 202, 'publishing again')
  accepted.push(15)
  await publish(16, 19)
  await waitFor(() => [onA, onB].every(({ seen }) => seen.numbers.includes(19)), 'events published after the failover on both nodes', SERVING_AGAIN_WITHIN_MS)
  const servingAfterMs = Date.now() - failedAt
  t.ok(servingAfterMs < SERVING_AGAIN_WITHIN_MS, `serving again ${servingAfterMs} ms after the primary was killed`)

  lossOutcome(t, { accepted, lost: 14, told: ['B', onB.seen], untold: ['A', onA.seen] })
  t.equal(await metricOf(b.url, 'bridge_recovery_unrecoverable_total'), 1, 'counted in bridge_recovery_unrecoverable_total on node B')
  await b.logLine('cluster bus: entries Redis had acknowledged are missing')
})
