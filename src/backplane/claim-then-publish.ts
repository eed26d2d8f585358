// Claims and delivery in two steps, for a backplane whose claims and bus cannot be one operation
// (a bridge alone: its claims live and die with its process, so a crash between the steps
// leaves nothing behind). A failed delivery gives its claims back, so a retry is not a duplicate.
import type { EncodedEvent } from '../channels/delivery.ts'
import type { ClaimStore, PublishClaims } from './backplane.ts'

/** Claims each key in order (one repeated within the events is taken the second time); the guard first. */
async function claimAll (claims: ClaimStore, { keys, ttlSeconds, guard }: PublishClaims): Promise<boolean[]> {
  if (guard !== undefined && !await claims.claim(guard.key, guard.ttlSeconds)) return keys.map(() => false)
  const settled = await Promise.allSettled(keys.map((key) => key === undefined ? Promise.resolve(true) : claims.claim(key, ttlSeconds)))
  const failed = settled.find((result) => result.status === 'rejected')
  const won = settled.map((result) => result.status === 'fulfilled' && result.value)
  if (failed === undefined) return won
  await releaseAll(claims, keys.filter((_key, index) => won[index]), guard?.key)
  throw failed.reason
}

async function releaseAll (claims: ClaimStore, keys: ReadonlyArray<string | undefined>, guard: string | undefined): Promise<void> {
  await Promise.all([...keys, guard].map(async (key) => {
    if (key !== undefined) await claims.release(key).catch(() => {})
  }))
}

/** Answers which events were handed on; rejects with every claim given back when none was. */
export async function claimThenPublish (
  claims: ClaimStore,
  events: readonly EncodedEvent[],
  request: PublishClaims,
  publish: (events: readonly EncodedEvent[]) => Promise<void>
): Promise<boolean[]> {
  const won = await claimAll(claims, request)
  const fresh = events.filter((_event, index) => won[index])
  if (fresh.length === 0) return won
  try {
    await publish(fresh)
  } catch (error) {
    await releaseAll(claims, request.keys.filter((_key, index) => won[index]), request.guard?.key)
    throw error
  }
  return won
}
