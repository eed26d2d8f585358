// A bounded queue handled in batches: offering only queues (a Redis subscription is read as fast
// as Redis sends). One turn's items make a batch, prepared at once (its claims sent), then
// handled in arrival order, one batch at a time.

export interface BatchQueueOptions<T, P> {
  maxBytes: number
  /** Most bytes in one batch (a single larger item makes a batch of its own). */
  maxBatchBytes: number
  maxBatchItems: number
  sizeOf: (item: T) => number
  /** Starts work on a batch as soon as it is made; must not reject. */
  prepare: (batch: T[]) => P
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
    async drained (): Promise<void> {
      close()
      for (let pending = draining; pending !== undefined; pending = draining) await pending
    },
    get bytes (): number {
      return bytes
    }
  }
}
