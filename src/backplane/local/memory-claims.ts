// De-duplication for a single node: each claim is kept for its whole window, in at most
// `maxEntries` entries. When they are all taken a new claim is refused (503, Retry-After),
// never made by forgetting an older one: a replay must stay a duplicate whatever came between.
import { createHash } from 'node:crypto'
import { claimsFull } from '../../http/errors.ts'
import type { ClaimStore } from '../backplane.ts'

export const DEFAULT_MAX_ENTRIES = 1_000_000

/** Entries per block of a queue: blocks are allocated and freed whole as the queue moves. */
const BLOCK = 1024

/**
 * What a claim's key is kept as: the first 16 bytes of its SHA-256, a 16-character one-byte
 * string, so every entry has the same small size whatever the key (a uuid may be 128
 * characters outside Latin-1). Two keys would have to collide in 128 bits to be confused.
 */
function storedKey (key: string): string {
  return createHash('sha256').update(key).digest().toString('latin1', 0, 16)
}

interface Block {
  keys: Array<string | undefined>
  /** Whole seconds of the store's clock. */
  expiries: Uint32Array
  next?: Block
}

function newBlock (): Block {
  return { keys: new Array<string | undefined>(BLOCK), expiries: new Uint32Array(BLOCK) }
}

/**
 * The claims of one time-to-live in the order they were made, which is also the order they
 * expire in: expired ones are always at the front, so dropping them costs O(1) each and no
 * timer per entry is needed.
 */
class ExpiryQueue {
  #head = newBlock()
  #tail = this.#head
  /** Next entry to leave, in #head; next free slot, in #tail. */
  #start = 0
  #end = 0
  length = 0

  push (key: string, expiry: number): void {
    if (this.#end === BLOCK) {
      const block = newBlock()
      this.#tail.next = block
      this.#tail = block
      this.#end = 0
    }
    this.#tail.keys[this.#end] = key
    this.#tail.expiries[this.#end] = expiry
    this.#end += 1
    this.length += 1
  }

  /** The expiry of the oldest entry; undefined when empty. */
  firstExpiry (): number | undefined {
    return this.length === 0 ? undefined : this.#head.expiries[this.#start]
  }

  /** Removes the oldest entry (the queue must not be empty) and returns its key. */
  shift (): string {
    const key = this.#head.keys[this.#start] as string
    this.#head.keys[this.#start] = undefined
    this.#start += 1
    this.length -= 1
    if (this.length === 0) {
      // Empty: start over in one block, the others are garbage.
      this.#head = this.#tail
      this.#start = 0
      this.#end = 0
    } else if (this.#start === BLOCK && this.#head.next !== undefined) {
      this.#head = this.#head.next
      this.#start = 0
    }
    return key
  }
}

export interface MemoryStoreOptions {
  /** Most claims kept at once; past it new claims are refused until old ones expire. */
  maxEntries?: number
  /** The clock windows are measured with, in ms (tests move it instead of waiting); monotonic. */
  clock?: { now (): number }
}

export class MemoryClaimStore implements ClaimStore {
  readonly #maxEntries: number
  readonly #clock: { now (): number }
  /** Stored key → the second its claim expires: what is claimed now. */
  readonly #expiries = new Map<string, number>()
  /** By time-to-live in seconds (callers use a few: uuids, signatures, redis broadcasts). */
  readonly #queues = new Map<number, ExpiryQueue>()
  /**
   * Entries in the queues. A released claim leaves #expiries at once (its key may be claimed
   * again) but keeps its place in its queue until it expires: this is what maxEntries bounds.
   */
  #entries = 0

  constructor ({ maxEntries = DEFAULT_MAX_ENTRIES, clock = performance }: MemoryStoreOptions = {}) {
    this.#maxEntries = maxEntries
    this.#clock = clock
  }

  /** Entries kept now (expired ones are dropped on the next claim). */
  get size (): number {
    return this.#entries
  }

  #dropExpired (nowSeconds: number): void {
    for (const queue of this.#queues.values()) {
      for (let expiry = queue.firstExpiry(); expiry !== undefined && expiry <= nowSeconds; expiry = queue.firstExpiry()) {
        const key = queue.shift()
        this.#entries -= 1
        // A key released and claimed again has a later expiry, and a place further back.
        if (this.#expiries.get(key) === expiry) this.#expiries.delete(key)
      }
    }
  }

  /** Whole seconds until the first entry expires and frees room (at least 1). */
  #secondsUntilRoom (nowSeconds: number): number {
    let soonest = Infinity
    for (const queue of this.#queues.values()) soonest = Math.min(soonest, queue.firstExpiry() ?? Infinity)
    return Number.isFinite(soonest) ? Math.max(1, Math.ceil(soonest - nowSeconds)) : 1
  }

  async claim (claimKey: string, ttlSeconds: number): Promise<boolean> {
    if (ttlSeconds <= 0) return true
    const key = storedKey(claimKey)
    const now = this.#clock.now() / 1000
    // Everything below runs in one tick, so two concurrent publishes cannot both claim a key.
    this.#dropExpired(now)
    const claimedUntil = this.#expiries.get(key)
    if (claimedUntil !== undefined && claimedUntil > now) return false
    if (this.#entries >= this.#maxEntries) throw claimsFull(this.#secondsUntilRoom(now))
    let queue = this.#queues.get(ttlSeconds)
    if (queue === undefined) {
      queue = new ExpiryQueue()
      this.#queues.set(ttlSeconds, queue)
    }
    // Rounded up to a whole second: kept for at least the whole window.
    const expiry = Math.ceil(now) + ttlSeconds
    this.#expiries.set(key, expiry)
    queue.push(key, expiry)
    this.#entries += 1
    return true
  }

  async claimAll (claimKeys: readonly string[], ttlSeconds: number): Promise<boolean[]> {
    return await Promise.all(claimKeys.map((claimKey) => this.claim(claimKey, ttlSeconds)))
  }

  async release (claimKey: string): Promise<void> {
    this.#expiries.delete(storedKey(claimKey))
  }

  async close (): Promise<void> {
    this.#expiries.clear()
    this.#queues.clear()
    this.#entries = 0
  }
}
