// Claiming many keys in one step (a burst of Laravel broadcasts): each store answers as one
// `claim` per key in order would, and the Redis one sends a single command with the window as
// each key's TTL.
import { randomUUID } from 'node:crypto'
import t, { type Test } from 'tap'
import type { ClaimStore } from '../../../../src/backplane/backplane.ts'
import { MemoryClaimStore } from '../../../../src/backplane/local/memory-claims.ts'
import { connectRedis } from '../../../../src/backplane/redis/connection.ts'
import { RedisClaimStore } from '../../../../src/backplane/redis/redis-claims.ts'
import { clusterEnv, redisClient, SHARED_REDIS_URL, waitFor } from '../../../helpers/redis.ts'

async function checkClaimAll (t: Test, claims: ClaimStore): Promise<void> {
  const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()]
  t.equal(await claims.claim(b, 60), true)
  t.same(await claims.claimAll([a, b, c, a], 60), [true, false, true, false], 'claimed before, or earlier in the same call: not again')
  t.same(await claims.claimAll([], 60), [])
  t.same(await claims.claimAll([a, a], 0), [true, true], 'a window of 0 claims nothing')
}

t.test('memory store', async (t) => {
  await checkClaimAll(t, new MemoryClaimStore())
})

t.test('Redis store: one command for the lot, each key with the window as its TTL', async (t) => {
  const prefix = `${clusterEnv(t).BRIDGE_REDIS_PREFIX}idempotency:`
  const client = await connectRedis(SHARED_REDIS_URL, 'test')
  t.teardown(() => { client.destroy() })
  await checkClaimAll(t, new RedisClaimStore(client, prefix))

  const monitor = await redisClient(t)
  const commands: string[] = []
  await monitor.monitor((line) => { if (line.includes(prefix)) commands.push(line) })
  const keys = Array.from({ length: 300 }, () => randomUUID())
  t.same(await new RedisClaimStore(client, prefix).claimAll(keys, 30), keys.map(() => true))
  const ttl = await client.ttl(prefix + keys[299])
  t.ok(ttl > 0 && ttl <= 30, `the last key expires with the window (ttl ${ttl})`)
  // MONITOR shows commands in the order Redis ran them: the TTL came after the claims.
  await waitFor('MONITOR to show the TTL', async () => commands.some((line) => line.includes('"TTL"')))
  t.equal(commands.filter((line) => !line.includes('lua]') && !line.includes('"TTL"')).length, 1, 'one command')
  t.match(commands[0], /"EVAL"/)
})
