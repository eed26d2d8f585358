// Two-phase claims: pending until the events are handed on, then confirmed; a key pending
// elsewhere is a 503 naming the wait, never a duplicate. The store keeps keys in memory with a
// clock the test moves, as Redis keeps them with their expiry.
import t from 'tap'
import type { EncodedEvent } from '../../../../src/channels/delivery.ts'
import { claimPendingThenPublish, PartlyHandedOn, PENDING_CLAIM_SECONDS, type PendingClaim, type PendingClaimStore } from '../../../../src/backplane/pending-claims.ts'

function memoryStore () {
  const keys = new Map<string, { value: string, until: number }>()
  const clock = { now: 0 }
  const held = (key: string) => {
    const entry = keys.get(key)
    return entry !== undefined && entry.until > clock.now ? entry.value : undefined
  }
  const store: PendingClaimStore & { failNext?: 'claim' | 'confirm' } = {
    async claimPending (key, seconds): Promise<PendingClaim> {
      if (store.failNext === 'claim') { store.failNext = undefined; throw new Error('store down') }
      const value = held(key)
      if (value === undefined) {
        keys.set(key, { value: 'pending', until: clock.now + seconds * 1000 })
        return { state: 'claimed' }
      }
      if (value === 'pending') return { state: 'pending', seconds: Math.ceil(((keys.get(key)?.until ?? 0) - clock.now) / 1000) }
      return { state: 'done' }
    },
    async confirm (key, ttlSeconds) {
      if (store.failNext === 'confirm') { store.failNext = undefined; throw new Error('store down') }
      keys.set(key, { value: '1', until: clock.now + ttlSeconds * 1000 })
    },
    async renew (key, seconds) {
      renewed.push(key)
      if (held(key) === 'pending') keys.set(key, { value: 'pending', until: clock.now + seconds * 1000 })
    },
    async release (key) { keys.delete(key) }
  }
  const renewed: string[] = []
  return { store, clock, held, renewed }
}

/** A promise and the function that settles it, as Redis's late answer to an append. */
function lateAnswer () {
  let answer: (stored: boolean) => void = () => {}
  const promise = new Promise<boolean>((resolve) => { answer = resolve })
  return { promise, answer }
}

const settled = () => new Promise((resolve) => setImmediate(resolve))

const event = (uuid: string): EncodedEvent => ({ channel: 'room', event: 'new_message', payloadJson: JSON.stringify({ uuid }) })
const claims = (...keys: Array<string | undefined>) => ({ keys, ttlSeconds: 3600 })

t.test('a fresh key is pending while handed on, then confirmed for its window', async (t) => {
  const { store, held } = memoryStore()
  let during: string | undefined
  const won = await claimPendingThenPublish(store, [event('a')], claims('a'), async () => { during = held('a') })
  t.same(won, [true])
  t.equal(during, 'pending')
  t.equal(held('a'), '1')
  t.same(await claimPendingThenPublish(store, [event('a')], claims('a'), async () => { t.fail('a duplicate is not handed on') }), [false])
})

t.test('a key left pending (its node died) is a 503 with Retry-After until it expires, then accepted', async (t) => {
  const { store, clock } = memoryStore()
  await store.claimPending('a', PENDING_CLAIM_SECONDS)
  clock.now += 3000
  const refused = await claimPendingThenPublish(store, [event('a')], claims('a'), async () => { t.fail('not handed on') }).catch((error: unknown) => error)
  t.match(refused, { statusCode: 503, code: 'BRIDGE_PUBLISH_PENDING', headers: { 'retry-after': String(PENDING_CLAIM_SECONDS - 3) } })
  clock.now += (PENDING_CLAIM_SECONDS - 3) * 1000
  const handed: EncodedEvent[] = []
  t.same(await claimPendingThenPublish(store, [event('a')], claims('a'), async (events) => { handed.push(...events) }), [true])
  t.equal(handed.length, 1)
})

t.test('a batch with one key pending hands nothing on and gives back the keys it claimed', async (t) => {
  const { store, held } = memoryStore()
  await store.claimPending('b', PENDING_CLAIM_SECONDS)
  await store.confirm('c', 3600)
  const refused = await claimPendingThenPublish(store, [event('a'), event('b'), event('c')], claims('a', 'b', 'c'), async () => { t.fail('not handed on') }).catch((error: unknown) => error)
  t.match(refused, { statusCode: 503, code: 'BRIDGE_PUBLISH_PENDING' })
  t.equal(held('a'), undefined, 'the fresh key was given back')
  t.equal(held('b'), 'pending')
  t.equal(held('c'), '1')
})

t.test('a batch answers per event: duplicates, a key named twice, events without a key', async (t) => {
  const { store } = memoryStore()
  await store.confirm('c', 3600)
  const handed: EncodedEvent[] = []
  const won = await claimPendingThenPublish(store, [event('a'), event('a'), event('x'), event('c')], claims('a', 'a', undefined, 'c'), async (events) => { handed.push(...events) })
  t.same(won, [true, false, true, false])
  t.same(handed.map(({ payloadJson }) => JSON.parse(payloadJson).uuid), ['a', 'x'])
})

t.test('a failed hand-on gives back every claim, the guard included', async (t) => {
  const { store, held } = memoryStore()
  const refused = await claimPendingThenPublish(store, [event('a')], { ...claims('a'), guard: { key: 'sig', ttlSeconds: 600 } }, async () => { throw new Error('bus down') }).catch((error: unknown) => error)
  t.match(refused, { message: 'bus down' })
  t.equal(held('a'), undefined)
  t.equal(held('sig'), undefined)
})

t.test('a failed claim gives back the others and rejects with its error', async (t) => {
  const { store, held } = memoryStore()
  store.failNext = 'claim'
  const refused = await claimPendingThenPublish(store, [event('a')], { ...claims('a'), guard: { key: 'sig', ttlSeconds: 600 } }, async () => { t.fail('not handed on') }).catch((error: unknown) => error)
  t.match(refused, { message: 'store down' })
  t.equal(held('sig'), undefined)
})

t.test('the guard follows the same rule: pending is a 503, confirmed makes every event a duplicate', async (t) => {
  const { store, held } = memoryStore()
  const guard = { key: 'sig', ttlSeconds: 600 }
  await store.claimPending('sig', PENDING_CLAIM_SECONDS)
  const refused = await claimPendingThenPublish(store, [event('a')], { ...claims('a'), guard }, async () => { t.fail('not handed on') }).catch((error: unknown) => error)
  t.match(refused, { statusCode: 503, code: 'BRIDGE_PUBLISH_PENDING' })
  t.equal(held('a'), undefined, 'no key claimed behind a pending guard')
  await store.release('sig')
  t.same(await claimPendingThenPublish(store, [event('a')], { ...claims('a'), guard }, async () => {}), [true])
  t.equal(held('sig'), '1')
  t.same(await claimPendingThenPublish(store, [event('b')], { ...claims('b'), guard }, async () => { t.fail('a replayed signature is not handed on') }), [false])
})

t.test('a confirmation that fails after the hand-on still answers published, and says so', async (t) => {
  const { store, held } = memoryStore()
  store.failNext = 'confirm'
  const reasons: unknown[] = []
  t.same(await claimPendingThenPublish(store, [event('a')], claims('a'), async () => {}, { unconfirmed: (error) => reasons.push(error) }), [true])
  t.equal(reasons.length, 1)
  t.equal(held('a'), 'pending', 'left to expire')
})

t.test('a batch handed on in part: the keys of the events handed on are confirmed, the others and the guard go back', async (t) => {
  const { store, held } = memoryStore()
  const guard = { key: 'signature:s', ttlSeconds: 600 }
  // The second fresh event (c) was not stored: its shard's primary was away.
  const error = await claimPendingThenPublish(store, [event('a'), event('b'), event('a'), event('c')], { ...claims('a', 'b', 'a', 'c'), guard }, async (fresh) => {
    t.same(fresh.map(({ payloadJson }) => JSON.parse(payloadJson).uuid), ['a', 'b', 'c'], 'the repeated key\'s second mention is not handed on')
    throw new PartlyHandedOn([true, false, true], new Error('a primary is away'))
  }).catch((caught: unknown) => caught)
  t.type(error, PartlyHandedOn, 'the publish fails as a whole, saying which were handed on')
  t.same([held('a'), held('b'), held('c'), held('signature:s')], ['1', undefined, '1', undefined], 'a and c stay claimed; b and the guard are free for the retry')

  // Retried whole: a and c are duplicates, b is handed on.
  const handed: string[] = []
  t.same(await claimPendingThenPublish(store, [event('a'), event('b'), event('a'), event('c')], { ...claims('a', 'b', 'a', 'c'), guard }, async (fresh) => {
    handed.push(...fresh.map(({ payloadJson }) => String(JSON.parse(payloadJson).uuid)))
  }), [false, true, false, false])
  t.same(handed, ['b'], 'only what was not stored the first time')
})

t.test('an event Redis did not answer for in time: its key stays pending, renewed, until Redis answers it stored; then the retry is a duplicate', async (t) => {
  const { store, clock, held, renewed } = memoryStore()
  const guard = { key: 'signature:s', ttlSeconds: 600 }
  const late = lateAnswer()
  // Event a was stored, b's shard did not answer by the deadline (a hung primary).
  const error = await claimPendingThenPublish(store, [event('a'), event('b')], { ...claims('a', 'b'), guard }, async () => {
    throw new PartlyHandedOn([true, false], new Error('no answer in time'), [undefined, late.promise])
  }, { renewEveryMs: 10 }).catch((caught: unknown) => caught)
  t.type(error, PartlyHandedOn)
  t.same([held('a'), held('b'), held('signature:s')], ['1', 'pending', undefined], 'a confirmed, b pending, the guard given back')
  t.same(renewed, ['b'], 'b renewed at once: it was claimed before the deadline passed')

  // Longer than a pending claim lasts: renewed while the node waits.
  for (let wait = 0; wait < 3; wait++) {
    clock.now += (PENDING_CLAIM_SECONDS - 1) * 1000
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  t.ok(renewed.includes('b'), 'b is renewed while unanswered')
  t.equal(held('b'), 'pending', `still pending ${3 * (PENDING_CLAIM_SECONDS - 1)} s later`)
  const refused = await claimPendingThenPublish(store, [event('a'), event('b')], { ...claims('a', 'b'), guard }, async () => { t.fail('not handed on while b is unanswered') }).catch((caught: unknown) => caught)
  t.match(refused, { statusCode: 503, code: 'BRIDGE_PUBLISH_PENDING' }, 'the retry meanwhile is told to come back')

  late.answer(true)
  await settled()
  t.equal(held('b'), '1', 'confirmed once Redis answers it stored')
  const count = renewed.length
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.equal(renewed.length, count, 'and renewed no more')
  t.same(await claimPendingThenPublish(store, [event('a'), event('b')], { ...claims('a', 'b'), guard }, async () => { t.fail('nothing handed on again') }), [false, false], 'the retry: both duplicates')
})

t.test('an event Redis did not answer for in time and then did not store: its key is left to expire, then the retry hands it on', async (t) => {
  const { store, clock, held } = memoryStore()
  const late = lateAnswer()
  await claimPendingThenPublish(store, [event('a')], claims('a'), async () => {
    throw new PartlyHandedOn([false], new Error('no answer in time'), [late.promise])
  }, { renewEveryMs: 10 }).catch(() => {})
  late.answer(false)
  await settled()
  t.equal(held('a'), 'pending', 'not confirmed')
  clock.now += PENDING_CLAIM_SECONDS * 1000
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.equal(held('a'), undefined, 'not renewed: expired')
  const handed: EncodedEvent[] = []
  t.same(await claimPendingThenPublish(store, [event('a')], claims('a'), async (events) => { handed.push(...events) }), [true])
  t.equal(handed.length, 1)
})
