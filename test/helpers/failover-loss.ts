// What the failover-loss tests share (test/integration/topologies/*-failover-loss.test.ts): bridge
// nodes as processes of their own (so that one can be stopped), clients that reconnect by
// themselves and record what they saw, and the outcome every such failover must have.
import type { Test } from 'tap'
import { CLUSTER_SHARDS, shardOf, shardStream } from '../../src/backplane/redis/bus-shards.ts'
import { connectClient, freePort, postJson, startServer, subscribe, type TestClient } from './bridge.ts'
import type { RedisClusterSet } from './redis-topologies.ts'

/** Publishes events numbered `from`…`to` to `room` through `url`, one at a time; `accepted` lists those answered 202. */
export function numberedPublisher (url: string, room: string) {
  const accepted: number[] = []
  async function publish (from: number, to: number): Promise<void> {
    for (let n = from; n <= to; n++) {
      const answer = await postJson(url, '/api/sms/new-message', { room, message: { n } })
      if (answer.status === 202) accepted.push(n)
    }
  }
  return { accepted, publish }
}

/** Whether every node answers /ready. */
export async function everyNodeReady (urls: readonly string[]): Promise<boolean> {
  const ready = await Promise.all(urls.map((url) => fetch(`${url}/ready`).then((response) => response.ok, () => false)))
  return ready.every(Boolean)
}

/** A bridge node as a process of its own (so that it can be stopped), killed when the test ends. */
export async function bridgeProcess (t: Test, env: Record<string, string>) {
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

export interface Seen {
  /** The `n` of each `new_message`, in the order received. */
  numbers: number[]
  /** `socket.recovered` at each reconnect. */
  reconnects: boolean[]
  /** Subscriptions made again after a reconnect that did not recover. */
  resubscribed: number
}

/** A client that reconnects by itself (subscribing again when not recovered), and what it saw. */
export async function follower (t: Test, url: string, room: string): Promise<{ client: TestClient, seen: Seen }> {
  const client: TestClient = await connectClient(t, url, { reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 500 })
  const seen: Seen = { numbers: [], reconnects: [], resubscribed: 0 }
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

/**
 * The outcome of a failover that lost `lost` (answered 202, in `accepted`): no client got an
 * event twice; each that missed one was told `recovered === false`; the client of the node that
 * had not read it missed it and was told once; the client of the node that had read it was never
 * disconnected.
 */
export function lossOutcome (t: Test, { accepted, lost, told, untold }: { accepted: readonly number[], lost: number, told: [name: string, seen: Seen], untold: [name: string, seen: Seen] }): void {
  const missedBy = (numbers: number[]) => accepted.filter((n) => !numbers.includes(n))
  for (const [name, seen] of [told, untold]) {
    t.same(seen.numbers, [...new Set(seen.numbers)], `client of node ${name}: no event twice`)
    const missed = missedBy(seen.numbers)
    if (missed.length > 0) t.ok(seen.reconnects.includes(false), `client of node ${name} missed ${missed.join(',')} and was told recovered === false`)
    else t.pass(`client of node ${name} got every accepted event`)
  }
  // It may have got the first of them (a read its node had sent before it stopped), never the last.
  t.ok(missedBy(told[1].numbers).includes(lost), `the client of node ${told[0]} missed lost events (the case under test)`)
  t.same(told[1].reconnects, [false], `the client of node ${told[0]} was told once`)
  t.same(untold[1].reconnects, [], `the client of node ${untold[0]}, which got them, stayed connected`)
}

/**
 * A room (`<stem>_<n>`) whose shard lies on another primary of the Redis Cluster than the stream
 * every node reads: a failover of that primary loses entries of the shard alone, which only
 * its numbers and marks can show. With the shard's stream key.
 */
export async function roomOffTheControlStream (cluster: RedisClusterSet, prefix: string, stem: string): Promise<{ room: string, shardKey: string }> {
  const busPrimary = await cluster.primaryOf(`${prefix}bus`)
  for (let n = 0; ; n++) {
    const shardKey = shardStream(prefix, shardOf(`private-${stem}_${n}`, CLUSTER_SHARDS), CLUSTER_SHARDS)
    if ((await cluster.primaryOf(shardKey)).port !== busPrimary.port) return { room: `${stem}_${n}`, shardKey }
  }
}
