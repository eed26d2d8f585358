// A Sentinel failover that loses events Redis acknowledged (answered 202), and the node that
// published them dies in the same failover: no later entry of it shows the jump in its numbers.
// The other node had not read them (it was stopped); it awaited the writer on the new primary,
// and the writer was declared dead first: its client reconnects told recovered === false, once,
// and gets nothing twice.
import t from 'tap'
import { metricOf, postJson, waitFor } from '../../helpers/bridge.ts'
import { bridgeProcess, everyNodeReady, follower, numberedPublisher } from '../../helpers/failover-loss.ts'
import { command, sentinelEnv, startSentinelSet } from '../../helpers/redis-topologies.ts'
import { SERVING_AGAIN_WITHIN_MS } from '../../helpers/topology-behaviour.ts'

t.setTimeout(180_000)

const ROOM = 'chat_writer_died'

t.test('acknowledged events lost in a failover their writer died in: the client that missed them is told recovered === false', async (t) => {
  const set = await startSentinelSet(t)
  const env = sentinelEnv(set)
  const writer = await bridgeProcess(t, env)
  const reader = await bridgeProcess(t, env)
  const onReader = await follower(t, reader.url, ROOM)

  const { accepted, publish } = numberedPublisher(writer.url, ROOM)
  await publish(0, 4)
  await waitFor(() => onReader.seen.numbers.includes(4), 'the reader\'s client to get the first events')

  // The reader stops reading. What follows first reaches the replica too (with heartbeats of the
  // writer): the new primary holds it, and the reader reads it once resumed.
  const primary = await set.primary()
  const replica = await set.replica()
  reader.child.kill('SIGSTOP')
  await publish(5, 7)
  await new Promise((resolve) => setTimeout(resolve, 1500))
  t.equal(await command(primary.port, 'WAIT', '1', '2000'), 1, 'replicated so far')
  // The replica is cut off and stopped, so what follows stays on the primary alone.
  replica.pause()
  await command(primary.port, 'CLIENT', 'KILL', 'TYPE', 'replica')
  await publish(8, 14)
  t.same(accepted.slice(5), [5, 6, 7, 8, 9, 10, 11, 12, 13, 14], 'answered 202 by the primary')

  // The writer dies with the primary: it never reaches the new one.
  const promoted = await set.killPrimary(() => {
    writer.child.kill('SIGKILL')
    replica.resume()
  })
  t.equal(promoted.port, replica.port, 'the replica was promoted')
  reader.child.kill('SIGCONT')
  const held = await command(promoted.port, 'XRANGE', `${env.BRIDGE_REDIS_PREFIX}bus`, '-', '+') as Array<[string, string[]]>
  t.notOk(held.some(([, fields]) => fields.some((field) => field.includes('"n":14'))), 'the new primary lacks events answered 202 (the loss this test is about)')

  await waitFor(() => everyNodeReady([reader.url]), 'the reader ready again', SERVING_AGAIN_WITHIN_MS)
  // Declared dead after NODE_TIMEOUT_MS without a heartbeat on the new primary.
  await waitFor(() => onReader.seen.reconnects.length > 0, 'the reader\'s client to reconnect', 20_000)
  await waitFor(() => onReader.seen.resubscribed > 0, 'the reader\'s client to subscribe again')
  await waitFor(async () => (await postJson(reader.url, '/api/sms/new-message', { room: ROOM, message: { n: 15 } })).status === 202, 'publishing again')
  await waitFor(() => onReader.seen.numbers.includes(15), 'an event published after the failover')

  const { seen } = onReader
  t.same(seen.numbers, [...new Set(seen.numbers)], 'no event twice')
  t.ok([5, 6, 7].every((n) => seen.numbers.includes(n)), 'the events the new primary holds were delivered')
  t.notOk(seen.numbers.includes(14), 'the reader\'s client missed the lost events (the case under test)')
  t.same(seen.reconnects, [false], 'the reader\'s client was told recovered === false, once')
  t.equal(await metricOf(reader.url, 'bridge_recovery_unrecoverable_total'), 1, 'counted in bridge_recovery_unrecoverable_total')
  await reader.logLine('cluster bus: writers were declared dead before they were heard from')
})
