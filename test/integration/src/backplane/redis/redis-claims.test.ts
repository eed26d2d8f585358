// The Redis de-duplication store against a real Redis: SET NX with the window as its TTL.
import { randomUUID } from 'node:crypto'
import t, { type Test } from 'tap'
import { connectRedis } from '../../../../../src/backplane/redis/connection.ts'
import { RedisClaimStore } from '../../../../../src/backplane/redis/redis-claims.ts'
import { clusterEnv, SHARED_REDIS_URL } from '../../../../helpers/redis.ts'

async function store (t: Test) {
  const prefix = `${clusterEnv(t).BRIDGE_REDIS_PREFIX}idempotency:`
  const client = await connectRedis(SHARED_REDIS_URL, 'test')
  t.teardown(() => { client.destroy() })
  return { client, prefix, store: new RedisClaimStore(client, prefix) }
}

t.test('a uuid is claimed once per window, in its own key with the window as TTL', async (t) => {
  const { client, prefix, store: claims } = await store(t)
  const uuid = randomUUID()
  t.equal(await claims.claim(uuid, 60), true, 'first claim')
  t.equal(await claims.claim(uuid, 60), false, 'second claim is a duplicate')
  t.equal(await client.get(prefix + uuid), '1')
  const ttl = await client.ttl(prefix + uuid)
  t.ok(ttl > 0 && ttl <= 60, `expires with the window (ttl ${ttl})`)
  t.equal(await claims.claim(randomUUID(), 60), true, 'another uuid is independent')
})

t.test('a released uuid can be claimed again; a window of 0 claims nothing', async (t) => {
  const { client, prefix, store: claims } = await store(t)
  const uuid = randomUUID()
  await claims.claim(uuid, 60)
  await claims.release(uuid)
  t.equal(await client.exists(prefix + uuid), 0, 'the key is gone')
  t.equal(await claims.claim(uuid, 60), true)

  const unwatched = randomUUID()
  t.equal(await claims.claim(unwatched, 0), true)
  t.equal(await claims.claim(unwatched, 0), true, 'de-duplication off: every claim succeeds')
  t.equal(await client.exists(prefix + unwatched), 0, 'and nothing is written')
  await claims.close()
  t.equal(client.isReady, true, 'closing the store leaves the shared client to its owner')
})
