// The in-memory de-duplication store: one claim per key per window, each kept for its whole
// window; when full, new claims are refused (503 with Retry-After), old ones never forgotten.
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import t from 'tap'
import { MemoryClaimStore } from '../../../../../src/backplane/local/memory-claims.ts'

/** A clock the test moves by hand, so windows pass without waiting. */
function manualClock () {
  let now = 1_000
  return { now: () => now, advance: (ms: number) => { now += ms } }
}

/** The error a refused claim rejects with, or undefined when it did not reject. */
async function refusal (claim: Promise<boolean>): Promise<{ statusCode?: number, code?: string, headers?: Record<string, string> } | undefined> {
  try {
    await claim
    return undefined
  } catch (error) {
    return error as { statusCode?: number, code?: string, headers?: Record<string, string> }
  }
}

t.test('a uuid is claimed once within its window, and again after it', async (t) => {
  const clock = manualClock()
  const store = new MemoryClaimStore({ clock })
  t.equal(await store.claim('msg-1', 600), true, 'first claim')
  t.equal(await store.claim('msg-1', 600), false, 'retry within the window')
  t.equal(await store.claim('msg-2', 600), true, 'another uuid is independent')
  clock.advance(599_000)
  t.equal(await store.claim('msg-1', 600), false, 'still inside the window')
  clock.advance(2_000)
  t.equal(await store.claim('msg-1', 600), true, 'claimable again once the window has passed')
})

t.test('concurrent claims of one uuid: exactly one wins', async (t) => {
  const store = new MemoryClaimStore()
  const results = await Promise.all(Array.from({ length: 20 }, () => store.claim('same', 60)))
  t.equal(results.filter(Boolean).length, 1)
})

t.test('a released claim can be claimed again (a publish that failed may be retried)', async (t) => {
  const store = new MemoryClaimStore()
  t.equal(await store.claim('msg-1', 600), true)
  await store.release('msg-1')
  t.equal(await store.claim('msg-1', 600), true)
  t.equal(await store.claim('msg-1', 600), false, 'and is then kept again')
})

t.test('a window of 0 turns de-duplication off and remembers nothing', async (t) => {
  const store = new MemoryClaimStore()
  t.equal(await store.claim('msg-1', 0), true)
  t.equal(await store.claim('msg-1', 0), true)
  t.equal(store.size, 0)
})

t.test('a flood of unique keys: every claim is kept for its window, new ones are refused when full', async (t) => {
  const clock = manualClock()
  const store = new MemoryClaimStore({ maxEntries: 50, clock })
  for (let i = 0; i < 50; i++) t.equal(await store.claim(`flood-${i}`, 600), true)
  clock.advance(100_000)
  const refused = await refusal(store.claim('one-too-many', 600))
  t.match(refused, { statusCode: 503, code: 'BRIDGE_CLAIMS_FULL' }, 'refused when full')
  t.equal(refused?.headers?.['retry-after'], '500', 'Retry-After: seconds until the oldest claim expires')
  for (let i = 0; i < 50; i++) t.equal(await store.claim(`flood-${i}`, 600), false, `flood-${i} is still a duplicate`)
  t.equal(store.size, 50, 'bounded')

  clock.advance(500_000)
  t.equal(await store.claim('one-too-many', 600), true, 'accepted once the old claims expired')
  t.equal(store.size, 1, 'the expired claims were dropped')
  t.equal(await store.claim('flood-0', 600), true, 'and their keys are free again')
})

t.test('claims of different windows expire each at its own time', async (t) => {
  const clock = manualClock()
  const store = new MemoryClaimStore({ maxEntries: 3, clock })
  t.equal(await store.claim('signature', 600), true)
  t.equal(await store.claim('broadcast', 10), true)
  t.equal(await store.claim('uuid', 60), true)
  t.equal((await refusal(store.claim('fourth', 60)))?.headers?.['retry-after'], '10', 'the soonest expiry frees the next entry')
  clock.advance(10_000)
  t.equal(await store.claim('fourth', 60), true, 'the 10-second claim expired first')
  t.equal(await store.claim('signature', 600), false, 'the others are kept')
  t.equal(await store.claim('uuid', 60), false)
  clock.advance(60_000)
  t.equal(await store.claim('uuid', 60), true)
  t.equal(await store.claim('signature', 600), false, 'the longest window outlives the shorter ones')
})

t.test('a claim released and made again keeps its new window', async (t) => {
  const clock = manualClock()
  const store = new MemoryClaimStore({ clock })
  t.equal(await store.claim('a', 10), true)
  t.equal(await store.claim('b', 10), true)
  clock.advance(5_000)
  await store.release('a')
  t.equal(await store.claim('a', 10), true, 'claimed again, 5 s later')
  clock.advance(6_000)
  t.equal(await store.claim('b', 10), true, 'b expired')
  t.equal(await store.claim('a', 10), false, 'a\'s new claim is kept for its own whole window')
  t.equal(store.size, 2)
})

t.test('released claims keep their entry until they expire: entries stay bounded whatever is released', async (t) => {
  const clock = manualClock()
  const store = new MemoryClaimStore({ maxEntries: 10, clock })
  for (let i = 0; i < 10; i++) {
    t.equal(await store.claim('retried', 60), true)
    await store.release('retried')
  }
  t.match(await refusal(store.claim('retried', 60)), { statusCode: 503 }, 'full of released claims')
  clock.advance(61_000)
  t.equal(await store.claim('retried', 60), true, 'room again once they expired')
})

t.test('steady traffic past the window never fills the store', async (t) => {
  const clock = manualClock()
  const store = new MemoryClaimStore({ maxEntries: 1000, clock })
  // 10 claims a second with a 60 s window: 600 kept at a time, 20,000 made in all.
  let claimed = 0
  for (let i = 0; i < 20_000; i++) {
    clock.advance(100)
    if (await store.claim(`steady-${i}`, 60)) claimed += 1
    if (i % 7 === 0) await store.release(`steady-${i - 3}`)
  }
  t.equal(claimed, 20_000, 'every claim made')
  t.ok(store.size <= 600, `${store.size} claims kept`)
})

t.test('close forgets every claim', async (t) => {
  const store = new MemoryClaimStore()
  await store.claim('msg-1', 600)
  await store.close()
  t.equal(store.size, 0)
  t.equal(await store.claim('msg-1', 600), true)
})

/** Heap bytes per entry the docs promise (docs/security.md): what BRIDGE_IDEMPOTENCY_MAX_ENTRIES bounds. */
const BYTES_PER_CLAIM = 128

t.test(`a full store takes at most ${BYTES_PER_CLAIM} bytes per claim, whatever the keys`, async (t) => {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  const entries = 131_073 // just past a doubling of the Map's table: the most bytes per entry
  // The longest keys there are: a signature's claim key, or 128 characters outside Latin-1.
  const keys = (i: number) => i % 2 === 0
    ? `signature:${i.toString(16).padStart(64, '0')}`.padEnd(129, '.')
    : `${i}`.padEnd(128, '😀')
  gc()
  const before = process.memoryUsage().heapUsed
  const store = new MemoryClaimStore({ maxEntries: entries })
  for (let i = 0; i < entries; i++) await store.claim(keys(i), i % 3 === 0 ? 600 : 60)
  t.match(await refusal(store.claim('past the bound', 60)), { statusCode: 503 }, 'full')
  gc()
  const perClaim = (process.memoryUsage().heapUsed - before) / entries
  t.equal(store.size, entries)
  t.ok(perClaim <= BYTES_PER_CLAIM, `${perClaim.toFixed(1)} bytes per claim`)
})
