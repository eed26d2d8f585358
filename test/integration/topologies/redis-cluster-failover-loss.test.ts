// A Redis Cluster failover that loses events Redis acknowledged (answered 202) on a shard of the
// bus: the replica of the shard's primary is cut off and stopped while they are published, the
// other bridge node is stopped so it has not read them, and the primary dies. The shards carry
// no heartbeats: the stopped node finds them missing by the mark the publishing node leaves on
// the shard when Redis is back, and its client reconnects told recovered === false. The
// publishing node, which read them, delivered them and delivers nothing twice. Both serve again
// within 15 s.
import t, { type Test } from 'tap'
import { CLUSTER_SHARDS, shardOf, shardStream } from '../../../src/backplane/redis/bus-shards.ts'
import { connectClient, freePort, metricOf, postJson, startServer, subscribe, waitFor, type TestClient } from '../../helpers/bridge.ts'
import { command, redisClusterEnv, startRedisCluster } from '../../helpers/redis-topologies.ts'
import { SERVING_AGAIN_WITHIN_MS } from '../../helpers/topology-behaviour.ts'

t.setTimeout(180_000)

/** A bridge node as a process of its own (so that it can be stopped), killed when the test ends. */
async function bridgeProcess (t: Test, env: Record<string, string>) {
  const port = await freePort()
  const server = startServer({ ...env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info' })
  const exited = new Promise((resolve) => server.child.once('exit', resolve))
  t.teardown(async () => {
    // A stopped process does not act on SIGKILL until resumed.
    server.child.kill('SIGCONT')
    server.child.kill('SIGKILL')
    await exited
  })
  await server.logLine('Server listening')
  return { ...server, url: `http://127.0.0.1:${port}` }
}

/** A client that reconnects by itself (re-subscribing when not recovered), and what it saw. */
async function follower (t: Test, url: string, room: string) {
  const client: TestClient = await connectClient(t, url, { reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 500 })
  const seen = { numbers: [] as number[], reconnects: [] as boolean[], resubscribed: 0 }
  client.on('new_message', (data) => { seen.numbers.push((data.message as { n: number }).n) })
  let first = true
  client.on('connect', () => {
    if (first) return
    seen.reconnects.push(client.recovered)
    // An app told it did not recover loads what it shows again, and subscribes again.
    if (!client.recovered) subscribe(client, room).then(() => { seen.resubscribed += 1 }, () => {})
  })
  await subscribe(client, room)
  first = false
  return { client, seen }
}

t.test('acknowledged events lost on a shard in a failover: the node that missed them tells its client recovered === false, none gets one twice', async (t) => {
  const cluster = await startRedisCluster(t)
  const env = redisClusterEnv(cluster)
  // A room whose shard lies on another primary than the stream every node reads: the failover
  // loses entries of the shard alone, which only its numbers and marks can show.
  const busPrimary = await cluster.primaryOf(`${env.BRIDGE_REDIS_PREFIX}bus`)
  let room = ''
  let shardKey = ''
  for (let n = 0; room === ''; n++) {
    const key = shardStream(env.BRIDGE_REDIS_PREFIX, shardOf(`private-chat_loss_${n}`, CLUSTER_SHARDS), CLUSTER_SHARDS)
    if ((await cluster.primaryOf(key)).port === busPrimary.port) continue
    room = `chat_loss_${n}`
    shardKey = key
  }
  const primary = await cluster.primaryOf(shardKey)
  const replica = await cluster.replicaOf(primary)

  const a = await bridgeProcess(t, env)
  const b = await bridgeProcess(t, env)
  const onA = await follower(t, a.url, room)
  const onB = await follower(t, b.url, room)

  const accepted: number[] = []
  async function publish (from: number, to: number): Promise<void> {
    for (let n = from; n <= to; n++) {
      const answer = await postJson(b.url, '/api/sms/new-message', { room, message: { n } })
      if (answer.status === 202) accepted.push(n)
    }
  }
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
  await waitFor(async () => {
    const ready = await Promise.all([a.url, b.url].map((url) => fetch(`${url}/ready`).then((response) => response.ok, () => false)))
    return ready.every(Boolean)
  }, 'both nodes ready again', SERVING_AGAIN_WITHIN_MS)
  await waitFor(async () => (await postJson(b.url, '/api/sms/new-message', { room, message: { n: 15 } })).status === 202, 'publishing again', SERVING_AGAIN_WITHIN_MS)
  accepted.push(15)
  await publish(16, 19)
  await waitFor(() => [onA, onB].every(({ seen }) => seen.numbers.includes(19)), 'events published after the failover on both nodes', SERVING_AGAIN_WITHIN_MS)
  const servingAfterMs = Date.now() - failedAt
  t.ok(servingAfterMs < SERVING_AGAIN_WITHIN_MS, `serving again ${servingAfterMs} ms after the primary was killed`)

  const missedBy = (numbers: number[]) => accepted.filter((n) => !numbers.includes(n))
  for (const [name, { seen }] of Object.entries({ A: onA, B: onB })) {
    t.same(seen.numbers, [...new Set(seen.numbers)], `client of node ${name}: no event twice`)
    const missed = missedBy(seen.numbers)
    if (missed.length > 0) t.ok(seen.reconnects.includes(false), `client of node ${name} missed ${missed.join(',')} and was told recovered === false`)
    else t.pass(`client of node ${name} got every accepted event`)
  }
  // Node A may have got the first of them (a read it had sent before it stopped), never the last.
  t.ok(missedBy(onA.seen.numbers).includes(14), 'the client of node A missed lost events (the case under test)')
  t.same(missedBy(onA.seen.numbers).filter((n) => n > 14), [], 'and got those published after it came back')
  t.same(onA.seen.reconnects, [false], 'the client of node A was told once')
  t.same(onB.seen.reconnects, [], 'the client of node B, which got them, stayed connected')
  t.equal(await metricOf(a.url, 'bridge_recovery_unrecoverable_total'), 1, 'counted in bridge_recovery_unrecoverable_total on node A')
  t.equal(await metricOf(b.url, 'bridge_recovery_unrecoverable_total'), 0, 'and not on node B')
  await a.logLine('cluster bus: entries Redis had acknowledged are missing')
})
