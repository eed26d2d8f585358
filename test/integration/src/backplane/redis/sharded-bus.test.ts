// The split bus against a real Redis: after Redis came back (a failover), a reader awaits on each
// shard it reads every writer counted alive whose entries it read there, until an entry or mark
// of it appended after the newest entry the shard held then is read. A writer declared dead
// while still awaited on a shard may have lost its last acknowledged entries there with nothing
// left to show it: taken as a loss, once. One heard from again there, or not counted alive, is not.
import { pino } from 'pino'
import t, { type Test } from 'tap'
import { connectRedis } from '../../../../../src/backplane/redis/connection.ts'
import { createShardedBus } from '../../../../../src/backplane/redis/sharded-bus.ts'
import { waitFor } from '../../../../helpers/bridge.ts'
import { clusterEnv, SHARED_REDIS_URL } from '../../../../helpers/redis.ts'

t.setTimeout(60_000)

const CHANNEL = 'private-chat_awaited'

async function node (t: Test, prefix: string, nodeId: string) {
  const client = await connectRedis(SHARED_REDIS_URL, `test-${nodeId}`)
  const seen: string[] = []
  const bus = createShardedBus({
    client,
    prefix,
    shards: 16,
    nodeId,
    log: pino({ level: 'silent' }),
    maxEntries: 1000,
    keepMs: 60_000,
    onEntry (_shard, _position, _node, message) {
      if (message?.type === 'events') seen.push(...message.events.map(({ payloadJson }) => payloadJson))
    },
    onFellBehind: () => { seen.push('loss') },
    onStarted: () => {},
    onStopped: () => {}
  })
  t.teardown(() => {
    bus.close()
    client.destroy()
  })
  const publish = (payload: string) => bus.append([{ channel: CHANNEL, event: 'e', payloadJson: payload }])
  return { bus, seen, publish }
}

/** A writer and a reader of the channel's shard; the reader has read the writer's first entry there. */
async function pair (t: Test) {
  const prefix = clusterEnv(t).BRIDGE_REDIS_PREFIX
  const writer = await node(t, prefix, 'writer')
  const reader = await node(t, prefix, 'reader')
  reader.bus.watch(CHANNEL)
  await reader.bus.reading(CHANNEL)
  await writer.publish('1')
  await waitFor(() => reader.seen.includes('1'), 'the reader to read the writer\'s first entry')
  return { writer, reader }
}

t.test('a writer declared dead before it was heard from on the shard since Redis came back: a loss, once', async (t) => {
  const { reader } = await pair(t)
  await reader.bus.resync(['writer'])
  reader.bus.writerDied('writer')
  t.same(reader.seen, ['1', 'loss'], 'taken as a loss')
  reader.bus.writerDied('writer')
  t.same(reader.seen, ['1', 'loss'], 'once')
})

t.test('a writer whose mark or entry on the shard was read after Redis came back: not a loss when declared dead', async (t) => {
  for (const heard of ['mark', 'entry']) {
    const { writer, reader } = await pair(t)
    await reader.bus.resync(['writer'])
    if (heard === 'mark') await writer.bus.checkpoint()
    else await writer.publish('2')
    await reader.bus.caughtUp()
    reader.bus.writerDied('writer')
    t.notOk(reader.seen.includes('loss'), `heard from by its ${heard}`)
  }
})

t.test('a writer not counted alive, or not read on the shard, is not awaited', async (t) => {
  const { reader } = await pair(t)
  await reader.bus.resync([])
  reader.bus.writerDied('writer')
  await reader.bus.resync(['writer', 'other'])
  reader.bus.writerDied('other')
  t.same(reader.seen, ['1'], 'no loss')
})
