// A Sentinel failover under two bridges: the primary dies (or the sentinels are asked to fail
// over), and both bridges serve again within 15 s of it, without a restart; events answered 202
// before it are delivered.
import t, { type Test } from 'tap'
import { sentinelEnv, startSentinelSet, type RedisProcess, type SentinelSet } from '../../helpers/redis-topologies.ts'
import { failoverUnderTwoBridges } from '../../helpers/topology-behaviour.ts'

t.setTimeout(180_000)

const MOVED = 'cluster mode: the sentinels named a new Redis primary; the bridge moves to it'

async function failover (t: Test, fail: (set: SentinelSet) => Promise<RedisProcess>): Promise<void> {
  const set = await startSentinelSet(t)
  await failoverUnderTwoBridges(t, sentinelEnv(set), async () => {
    const before = await set.primary()
    const after = await fail(set)
    t.not(after.port, before.port, 'the sentinels promoted the replica')
  }, MOVED)
}

t.test('the primary is killed: the bridges serve again within 15 s, and every accepted event arrives', async (t) => {
  await failover(t, (set) => set.killPrimary())
})

t.test('the sentinels are asked to fail over: the same', async (t) => {
  await failover(t, (set) => set.failover())
})
