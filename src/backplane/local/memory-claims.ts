// De-duplication for a single node: each claim is kept for its whole window, in at most
// `maxEntries` entries; when all are taken a new claim is refused (503), never made by
// forgetting an older one: a replay must stay a duplicate whatever came between.
import { createHash } from 'node:crypto'
import { claimsFull } from '../../http/errors.ts'
import type { ClaimStore } from '../backplane.ts'

export const DEFAULT_MAX_ENTRIES = 1_000_000

const BLOCK = 1024

/** A claim's key as kept: the first 16 bytes of its SHA-256, so every entry has one small size. */
function storedKey (key: string): string {
  return createHash('sha256').update(key).digest().toString('latin1', 0, 16)
}

interface Block {
  keys: Array<string | undefined>
  expiries: Uint32Array
  next?: Block
}

function newBlock (): Block {
  return { keys: new Array<string | undefined>(BLOCK), expiries: new Uint32Array(BLOCK) }
}

/** One time-to-live's claims in the order made, which is their expiry order: dropping them costs O(1), no timers. */
class ExpiryQueue {
  #head = newBlock()
  #tail = this.#head
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

  firstExpiry (): number | undefined {
    return this.length === 0 ? undefined : this.#head.expiries[this.#start]
  }

  shift (): string {
    const key = this.#head.keys[this.#start] as string
    this.#head.keys[this.#start] = undefined
    this.#start += 1
    this.length -= 1
    if (this.length === 0) {
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
  maxEntries?: number
  /** Monotonic, in ms (tests move it instead of waiting). */
  clock?: { now (): number }
}

export class MemoryClaimStore implements ClaimStore {
  readonly #maxEntries: number
  readonly #clock: { now (): number }
  readonly #expiries = new Map<string, number>()
  readonly #queues = new Map<number, ExpiryQueue>()
  /** A released claim leaves #expiries at once but its queue only when it expires: this is what maxEntries bounds. */
  #entries = 0

  constructor ({ maxEntries = DEFAULT_MAX_ENTRIES, clock = performance }: MemoryStoreOptions = {}) {
    this.#maxEntries = maxEntries
    this.#clock = clock
  }

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

  #secondsUntilRoom (nowSeconds: number): number {
    let soonest = Infinity
    for (const queue of this.#queues.values()) soonest = Math.min(soonest, queue.firstExpiry() ?? Infinity)
    return Number.isFinite(soonest) ? Math.max(1, Math.ceil(soonest - nowSeconds)) : 1
  }

  async claim (claimKey: string, ttlSeconds: number): Promise<boolean> {
    if (ttlSeconds <= 0) return true
    const key = storedKey(claimKey)
    const now = this.#clock.now() / 1000
    // One tick from here on, so two concurrent publishes cannot both claim a key.
    this.#dropExpired(now)
    const claimedUntil = this.#expiries.get(key)
    if (claimedUntil !== undefined && claimedUntil > now) return false
    if (this.#entries >= this.#maxEntries) throw claimsFull(this.#secondsUntilRoom(now))
    let queue = this.#queues.get(ttlSeconds)
    if (queue === undefined) {
      queue = new ExpiryQueue()
      this.#queues.set(ttlSeconds, queue)
    }
    // Rounded up: kept for at least the whole window.
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
