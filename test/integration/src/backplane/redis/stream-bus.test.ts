// The cluster's bus against a real Redis, with this node's reading held back (a stand-in for a
// paused process): its lag shows how far behind it is, a gap trimmed away meanwhile is found
// before anything after it is applied, and missed events are read back only while the stream
// still holds all of them. A failover is played by replacing the stream with what a new primary
// would hold: entries read already are not applied twice, and acknowledged entries missing are
// found before what follows them.
import { pino } from 'pino'
import t, { type Test } from 'tap'
import { connectRedis, type RedisClient } from '../../../../../src/backplane/redis/connection.ts'
import { createStreamBus } from '../../../../../src/backplane/redis/stream-bus.ts'
import { encode } from '../../../../../src/backplane/redis/stream-codec.ts'
import { waitFor } from '../../../../helpers/bridge.ts'
import { clusterEnv, SHARED_REDIS_URL } from '../../../../helpers/redis.ts'

t.setTimeout(120_000)

/** A reader whose reads wait while `held`; everything else is the real client's. */
function holdable (reader: RedisClient) {
  const gate = { held: false, open: () => {} }
  const proxy = new Proxy(reader, {
    get (target, property) {
      if (property === 'xRead') {
        return async (...args: Parameters<RedisClient['xRead']>) => {
          while (gate.held) await new Promise<void>((resolve) => { gate.open = resolve })
          return await target.xRead(...args)
        }
      }
      const value = Reflect.get(target, property, target) as unknown
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value
    }
  })
  return {
    reader: proxy,
    hold: () => { gate.held = true },
    release: () => {
      gate.held = false
      gate.open()
    }
  }
}

async function bus (t: Test, keepMs: number) {
  const stream = `${clusterEnv(t).BRIDGE_REDIS_PREFIX}bus`
  const client = await connectRedis(SHARED_REDIS_URL, 'test-bus')
  const realReader = await connectRedis(SHARED_REDIS_URL, 'test-bus-reader')
  const other = await connectRedis(SHARED_REDIS_URL, 'test-other-node')
  const { reader, hold, release } = holdable(realReader)
  const seen: string[] = []
  const created = await createStreamBus({
    client,
    reader,
    stream,
    nodeId: 'this-node',
    log: pino({ level: 'silent' }),
    maxEntries: 1000,
    keepMs,
    onEntry (_position, node, message) {
      if (message?.type === 'events') seen.push(`${node}:${message.events.map(({ payloadJson }) => payloadJson).join(',')}`)
    },
    onFellBehind: () => { seen.push('gap') },
    onHeartbeat: () => {}
  })
  t.teardown(async () => {
    release()
    created.close()
    await other.del(stream)
    for (const connection of [client, realReader, other]) connection.destroy()
  })
  created.start()
  const fieldsOf = (payload: string) => encode('other-node', { type: 'events', events: [{ channel: 'c', event: 'e', payloadJson: payload }] })
  const publish = (payload: string) => other.xAdd(stream, '*', fieldsOf(payload))
  /** An entry of the other node numbered `q`, with what it says of earlier numbers (append-sequence.ts). */
  const publishNumbered = (payload: string, q: number, said: { s?: string, v?: string } = {}, id = '*') => other.xAdd(stream, id, { ...fieldsOf(payload), q: String(q), ...said })
  return { stream, bus: created, hold, release, other, seen, publish, publishNumbered }
}

t.test('lag: a node whose reading is held back says how far, and 0 once it has caught up', async (t) => {
  const { bus: stream, hold, release, publish } = await bus(t, 60_000)
  await publish('1')
  await stream.caughtUp()
  t.equal(stream.lagSeconds(), 0, 'caught up')
  hold()
  // Its own heartbeats (every second) keep telling it where the stream's end is.
  await waitFor(() => stream.lagSeconds() >= 2, 'the lag to reach two seconds', 15_000)
  release()
  await waitFor(() => stream.lagSeconds() === 0, 'the node to catch up', 15_000)
  t.pass('back to 0')
})

t.test('a gap trimmed while the node was held is found before the entries after it are applied', async (t) => {
  const { bus: stream, hold, release, publish, other, stream: key, seen } = await bus(t, 2000)
  await publish('1')
  await stream.caughtUp()
  hold()
  // Let the held read return (its block ends within a second) so the next one waits.
  await new Promise((resolve) => setTimeout(resolve, 1500))
  const missed = await publish('2')
  await other.xTrim(key, 'MINID', `${Number(missed.split('-')[0]) + 1}`)
  await new Promise((resolve) => setTimeout(resolve, 1500))
  await publish('3')
  release()
  await waitFor(() => seen.includes('other-node:3'), 'the entry after the gap', 15_000)
  t.same(seen, ['other-node:1', 'gap', 'other-node:3'], 'the gap is known before what follows it, and the trimmed entry never applied')
})

t.test('reading back: the events of a channel after a position, none when the stream no longer reaches back or Redis came back meanwhile', async (t) => {
  const { bus: stream, publish, other, stream: key } = await bus(t, 60_000)
  const [first, second, third] = [await publish('1'), await publish('2'), await publish('3')]
  const at = (id: string): [number, number, number] => [Number(id.split('-')[0]), Number(id.split('-')[1]), 0]
  const payloads = (read: Awaited<ReturnType<typeof stream.readBack>>) => read?.map(({ event }) => event.payloadJson)
  t.same(payloads(await stream.readBack(new Map([['c', at(first)]]), at(third))), ['2', '3'], 'after the position, up to the end given')
  t.same(payloads(await stream.readBack(new Map([['other-channel', at(first)]]), at(third))), [], 'only the channels asked for')

  // A node that saw Redis come back (a failover may have lost entries) says so on the bus.
  const back = await other.xAdd(key, '*', encode('other-node', { type: 'hello', lost: true }))
  const fourth = await publish('4')
  t.equal(await stream.readBack(new Map([['c', at(second)]]), at(fourth)), undefined, 'not across a return of Redis')
  t.same(payloads(await stream.readBack(new Map([['c', at(back)]]), at(fourth))), ['4'], 'from after it, as before')

  await other.xTrim(key, 'MINID', `${at(fourth)[0]}-${at(fourth)[1]}`)
  t.equal(await stream.readBack(new Map([['c', at(back)]]), at(fourth)), undefined, 'not once entries after the position were trimmed')
})

t.test('Redis back with entries this node read: reading goes on after the newest one it still holds, nothing applied twice', async (t) => {
  const { bus: stream, other, stream: key, seen, publishNumbered } = await bus(t, 60_000)
  const ids = [await publishNumbered('1', 1), await publishNumbered('2', 2), await publishNumbered('3', 3)]
  await waitFor(() => seen.length === 3, 'the three entries read')
  // The new primary got 1 and 2 (the same ids), not 3.
  await other.del(key)
  await publishNumbered('1', 1, {}, ids[0])
  await publishNumbered('2', 2, {}, ids[1])
  await stream.resync()
  await publishNumbered('4', 4)
  await waitFor(() => seen.includes('other-node:4'), 'the entry after the failover')
  t.same(seen, ['other-node:1', 'other-node:2', 'other-node:3', 'other-node:4'], 'each once; 3 was read before it went, so nothing is missing here')
})

t.test('Redis back with none of the entries this node read: it reads the stream from its start and passes over what it read', async (t) => {
  const { bus: stream, hold, release, other, stream: key, seen, publishNumbered } = await bus(t, 60_000)
  await publishNumbered('1', 1)
  await publishNumbered('2', 2)
  await waitFor(() => seen.length === 2, 'the two entries read')
  hold()
  await new Promise((resolve) => setTimeout(resolve, 1500))
  // A new primary whose ids for the same entries are later than any read (no id to go on from).
  await other.del(key)
  const later = Date.now() + 1000
  await publishNumbered('1', 1, {}, `${later}-0`)
  await publishNumbered('2', 2, {}, `${later}-1`)
  await stream.resync()
  release()
  await publishNumbered('3', 3)
  await waitFor(() => seen.includes('other-node:3'), 'the entry after the failover')
  t.same(seen, ['other-node:1', 'other-node:2', 'other-node:3'], 'read again from the start, applied once')
})

t.test('acknowledged entries a failover lost before this node read them: found before what follows is applied', async (t) => {
  const { bus: stream, hold, release, other, stream: key, seen, publishNumbered } = await bus(t, 60_000)
  const first = await publishNumbered('1', 1)
  await stream.caughtUp()
  hold()
  await new Promise((resolve) => setTimeout(resolve, 1500))
  await publishNumbered('2', 2)
  // Failed over: the new primary holds only the first entry; 2 was acknowledged (3 says nothing of it).
  await other.del(key)
  await publishNumbered('1', 1, {}, first)
  await publishNumbered('3', 3)
  // Appends 4 and 5 failed (not stored for sure), as 6 says: their absence is no loss.
  await publishNumbered('6', 6, { v: '4-5' })
  release()
  await waitFor(() => seen.includes('other-node:6'), 'the entries after the failover')
  t.same(seen, ['other-node:1', 'gap', 'other-node:3', 'other-node:6'], 'one loss, said before the entry after it; none for numbers never acknowledged')
})

t.test('the claim-and-append script numbers its entry like any append; a number it did not store is said to be so', async (t) => {
  const { bus: stream, other, stream: key } = await bus(t, 60_000)
  const claimKey = `${key}:claim-test`
  t.teardown(async () => { await other.del(claimKey) })
  const event = { channel: 'c', event: 'e', payloadJson: '1' }
  const claims = { keys: [claimKey], ttlSeconds: 60 }
  t.same(await stream.appendClaimed([event], claims), [true], 'claimed and appended')
  t.same(await stream.appendClaimed([event], claims), [false], 'claimed already: nothing appended')
  await stream.append({ type: 'hello' })
  const mine = ((await other.xRange(key, '-', '+')) ?? []).map(({ message }) => message).filter((fields) => fields.n === 'this-node' && fields.t !== 'beat')
  t.equal(mine.length, 2, 'the events entry and the hello')
  const [events, hello] = mine as [Record<string, string>, Record<string, string>]
  t.equal(events.t, 'events')
  t.equal(Number(hello.q), Number(events.q) + 2, 'the script\'s second call took a number too')
  t.equal(hello.v, String(Number(events.q) + 1), 'the hello says that number was not stored')
})
