// The in-memory de-duplication store: one claim per uuid per window, bounded in size.
import t from 'tap'
import { DEFAULT_MAX_ENTRIES, MemoryIdempotencyStore } from '../../../../src/transport/idempotency/memory-store.ts'

/** A clock the test moves by hand, so windows pass without waiting. */
function manualClock () {
  let now = 1_000
  return { now: () => now, advance: (ms: number) => { now += ms } }
}

t.test('a uuid is claimed once within its window, and again after it', async (t) => {
  const clock = manualClock()
  const store = new MemoryIdempotencyStore({ clock })
  t.equal(await store.claim('msg-1', 600), true, 'first claim')
  t.equal(await store.claim('msg-1', 600), false, 'retry within the window')
  t.equal(await store.claim('msg-2', 600), true, 'another uuid is independent')
  clock.advance(599_000)
  t.equal(await store.claim('msg-1', 600), false, 'still inside the window')
  clock.advance(2_000)
  t.equal(await store.claim('msg-1', 600), true, 'claimable again once the window has passed')
})

t.test('concurrent claims of one uuid: exactly one wins', async (t) => {
  const store = new MemoryIdempotencyStore()
  const results = await Promise.all(Array.from({ length: 20 }, () => store.claim('same', 60)))
  t.equal(results.filter(Boolean).length, 1)
})

t.test('a released claim can be claimed again (a publish that failed may be retried)', async (t) => {
  const store = new MemoryIdempotencyStore()
  t.equal(await store.claim('msg-1', 600), true)
  await store.release('msg-1')
  t.equal(await store.claim('msg-1', 600), true)
})

t.test('a window of 0 turns de-duplication off and remembers nothing', async (t) => {
  const store = new MemoryIdempotencyStore()
  t.equal(await store.claim('msg-1', 0), true)
  t.equal(await store.claim('msg-1', 0), true)
  t.equal(store.size, 0)
})

t.test('a flood of unique uuids stays within maxEntries, forgetting the oldest first', async (t) => {
  const store = new MemoryIdempotencyStore({ maxEntries: 50 })
  let claimed = 0
  for (let i = 0; i < 10_000; i++) if (await store.claim(`flood-${i}`, 600)) claimed += 1
  t.equal(claimed, 10_000, 'every unique uuid is claimed')
  t.equal(store.size, 50, 'bounded')
  t.equal(await store.claim('flood-9999', 600), false, 'the newest are remembered')
  t.equal(await store.claim('flood-9950', 600), false)
  t.equal(await store.claim('flood-0', 600), true, 'the oldest were forgotten')
  t.equal(store.size, 50, 'still bounded')
})

t.test('close forgets every claim', async (t) => {
  const store = new MemoryIdempotencyStore()
  await store.claim('msg-1', 600)
  await store.close()
  t.equal(store.size, 0)
  t.equal(DEFAULT_MAX_ENTRIES, 100_000, 'the default bound')
})
