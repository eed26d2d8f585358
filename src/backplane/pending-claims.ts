// Claims in two phases, for a backplane whose claims and bus cannot be one operation and outlive
// a node (a Redis Cluster: the claim keys lie in other slots than the stream). A key is first
// claimed as pending for a few seconds, then confirmed for its whole window once its event was
// handed on: a node that dies between the two leaves a pending claim that expires soon, and a
// retry meanwhile is told to come back (503) rather than answered as a duplicate.
import type { EncodedEvent } from '../channels/delivery.ts'
import { publishPending } from '../http/errors.ts'
import type { PublishClaims } from './backplane.ts'

/** How long a claim stays pending when its node never confirms it (it died): a retry is accepted after this at the latest. */
export const PENDING_CLAIM_SECONDS = 10

/** What claiming a key as pending found. */
export type PendingClaim =
  | { state: 'claimed' }
    /** Confirmed: its event was handed on within the window. */
  | { state: 'done' }
    /** Another publish holds it pending, for at most `seconds` more. */
  | { state: 'pending', seconds: number }

export interface PendingClaimStore {
  /** Sets the key pending for `seconds` if absent; else says how it is held. */
  claimPending (key: string, seconds: number): Promise<PendingClaim>
  /** Sets the key claimed for `ttlSeconds`, whether it is still pending or expired meanwhile. */
  confirm (key: string, ttlSeconds: number): Promise<void>
  /** Keeps the key pending `seconds` more if it is still pending. */
  renew (key: string, seconds: number): Promise<void>
  release (key: string): Promise<void>
}

export interface PendingPublishOptions {
  /** Called when a confirmation failed after the events were handed on (a retry may deliver again once the pending claim expires). */
  unconfirmed?: (error: unknown) => void
  /** How often a claim whose event Redis has not answered for yet is kept pending; default half of PENDING_CLAIM_SECONDS. */
  renewEveryMs?: number
}

/**
 * A publish that handed on some of its events only: `handedOn[i]` for the i-th event it was
 * given. `unanswered[i]` is set for an event whose append Redis did not answer in time: Redis
 * may still store it (a hung primary runs what it was sent when it goes on), and it settles
 * with whether it did once Redis answers (false: not known to be stored).
 */
export class PartlyHandedOn extends Error {
  override name = 'PartlyHandedOn'
  readonly handedOn: readonly boolean[]
  readonly unanswered: ReadonlyArray<Promise<boolean> | undefined>
  constructor (handedOn: readonly boolean[], cause: unknown, unanswered: ReadonlyArray<Promise<boolean> | undefined> = []) {
    super(`some events were not handed on: ${String(cause)}`)
    this.handedOn = handedOn
    this.unanswered = unanswered
  }
}

type Claimed = { key: string, ttlSeconds: number }

async function releaseAll (store: PendingClaimStore, claimed: readonly Claimed[]): Promise<void> {
  await Promise.all(claimed.map(async ({ key }) => { await store.release(key).catch(() => {}) }))
}

/**
 * Keeps a claim pending while Redis has not answered for its event (renewed, so that a retry is
 * not accepted meanwhile; if this node dies it expires as any pending claim), then confirms it
 * if the event was stored. One not known to be stored is left to expire.
 */
function pendingUntilAnswered (store: PendingClaimStore, { key, ttlSeconds }: Claimed, stored: Promise<boolean>, { unconfirmed, renewEveryMs = PENDING_CLAIM_SECONDS * 500 }: PendingPublishOptions): void {
  const renew = () => { store.renew(key, PENDING_CLAIM_SECONDS).catch(() => {}) }
  // At once: the claim was taken before the append waited for its deadline.
  renew()
  const renewing = setInterval(renew, renewEveryMs)
  renewing.unref()
  stored.then(async (wasStored) => {
    clearInterval(renewing)
    if (wasStored) await store.confirm(key, ttlSeconds).catch((error: unknown) => unconfirmed?.(error))
  }, () => { clearInterval(renewing) })
}

/**
 * Answers which events were handed on (false: a duplicate, or a later mention of a key named
 * twice); rejects with every claim given back when none was, and with a 503 naming the wait when
 * a key or the guard is pending elsewhere.
 */
export async function claimPendingThenPublish (
  store: PendingClaimStore,
  events: readonly EncodedEvent[],
  { keys, ttlSeconds, guard }: PublishClaims,
  publish: (events: readonly EncodedEvent[]) => Promise<void>,
  options: PendingPublishOptions = {}
): Promise<boolean[]> {
  const { unconfirmed } = options
  const claimed: Claimed[] = []
  if (guard !== undefined) {
    const found = await store.claimPending(guard.key, PENDING_CLAIM_SECONDS)
    if (found.state === 'done') return keys.map(() => false)
    if (found.state === 'pending') throw publishPending(found.seconds)
    claimed.push(guard)
  }
  // A key named twice is claimed by its first mention; the later ones are duplicates of it.
  const first = new Map<string, number>()
  keys.forEach((key, index) => { if (key !== undefined && !first.has(key)) first.set(key, index) })
  const settled = await Promise.allSettled(keys.map(async (key, index): Promise<PendingClaim> => {
    if (key === undefined) return { state: 'claimed' }
    if (first.get(key) !== index) return { state: 'done' }
    return await store.claimPending(key, PENDING_CLAIM_SECONDS)
  }))
  const won = settled.map((result) => result.status === 'fulfilled' && result.value.state === 'claimed')
  keys.forEach((key, index) => { if (key !== undefined && won[index]) claimed.push({ key, ttlSeconds }) })
  const failed = settled.find((result) => result.status === 'rejected')
  const waits = settled.flatMap((result) => result.status === 'fulfilled' && result.value.state === 'pending' ? [result.value.seconds] : [])
  if (failed !== undefined || waits.length > 0) {
    // All or nothing: a batch waits for its pending keys rather than going without them.
    await releaseAll(store, claimed)
    throw failed !== undefined ? failed.reason : publishPending(Math.max(...waits))
  }

  const fresh = events.filter((_event, index) => won[index])
  if (fresh.length > 0) {
    try {
      await publish(fresh)
    } catch (error) {
      if (!(error instanceof PartlyHandedOn)) {
        await releaseAll(store, claimed)
        throw error
      }
      // The keys of the events handed on stay claimed, those of events Redis may still store stay
      // pending until it answers; the others and the guard go back, so that the batch retried
      // whole delivers the rest and answers the others as duplicates.
      const handedOnKeys = new Set<string>()
      const unanswered = new Map<string, Promise<boolean>>()
      let freshIndex = 0
      keys.forEach((key, index) => {
        if (!won[index]) return
        const answer = error.unanswered[freshIndex]
        if (key !== undefined && error.handedOn[freshIndex] === true) handedOnKeys.add(key)
        else if (key !== undefined && answer !== undefined) unanswered.set(key, answer)
        freshIndex += 1
      })
      await Promise.all([
        releaseAll(store, claimed.filter(({ key }) => !handedOnKeys.has(key) && !unanswered.has(key))),
        ...claimed.filter(({ key }) => handedOnKeys.has(key)).map(async ({ key, ttlSeconds }) => {
          await store.confirm(key, ttlSeconds).catch((confirming: unknown) => unconfirmed?.(confirming))
        })
      ])
      for (const claim of claimed) {
        const answer = unanswered.get(claim.key)
        if (answer !== undefined) pendingUntilAnswered(store, claim, answer, options)
      }
      throw error
    }
  }
  await Promise.all(claimed.map(async ({ key, ttlSeconds }) => {
    await store.confirm(key, ttlSeconds).catch((error: unknown) => unconfirmed?.(error))
  }))
  return won
}
