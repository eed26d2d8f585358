// A bounded queue handled in batches: whoever offers an item only puts it in the queue (a
// Redis subscription is read as fast as Redis sends). What arrives in one turn of the event
// loop makes a batch; each batch is prepared as soon as it is made (e.g. its claims are sent),
// then handled in arrival order, one batch at a time.

export interface BatchQueueOptions<T, P> {
  /** Most bytes waiting at once (offered, not yet handled); an item past it is refused. */
  maxBytes: number
  /** Most bytes in one batch (a single larger item makes a batch of its own). */
  maxBatchBytes: number
  /** Most items in one batch. */
  maxBatchItems: number
  sizeOf: (item: T) => number
  /** Starts work on a batch as soon as it is made; must not reject. */
  prepare: (batch: T[]) => P
  /** Handles a batch and what `prepare` gave; the next batch waits until it settles. */
  handle: (batch: T[], prepared: P) => Promise<void>
}

export function createBatchQueue<T, P> ({ maxBytes, maxBatchBytes, maxBatchItems, sizeOf, prepare, handle }: BatchQueueOptions<T, P>) {
  let bytes = 0
  let open: { items: T[], bytes: number } | undefined
  const ready: Array<{ items: T[], bytes: number, prepared: P }> = []
  let draining: Promise<void> | undefined

  function close (): void {
    const batch = open
    if (batch === undefined) return
    open = undefined
    ready.push({ ...batch, prepared: prepare(batch.items) })
    draining ??= drain()
  }

  async function drain (): Promise<void> {
    for (let batch = ready.shift(); batch !== undefined; batch = ready.shift()) {
      await handle(batch.items, batch.prepared).catch(() => {})
      bytes -= batch.bytes
    }
    draining = undefined
  }

  return {
    /** Queues the item; false when the queue is full (the item is not kept). */
    offer (item: T): boolean {
      const size = sizeOf(item)
      if (bytes + size > maxBytes) return false
      if (open !== undefined && (open.items.length >= maxBatchItems || open.bytes + size > maxBatchBytes)) close()
      if (open === undefined) {
        open = { items: [], bytes: 0 }
        // The rest of this turn's items (a socket read holds many messages) join the batch.
        setImmediate(close)
      }
      open.items.push(item)
      open.bytes += size
      bytes += size
      return true
    },
    /** Resolves once every item queued so far is handled. */
    async drained (): Promise<void> {
      close()
      for (let pending = draining; pending !== undefined; pending = draining) await pending
    },
    get bytes (): number {
      return bytes
    }
  }
}
