// Memory pressure that ends when the memory is free. Heap used and RSS as sampled count
// garbage too, and a process that sheds load allocates so little that V8 may not collect
// for minutes: a raw sample over its threshold is only trusted once measured after a full
// garbage collection, either one V8 ran on its own (seen through a PerformanceObserver) or
// one this module asks for, at most once per `collectEveryMs`, and only while over.
import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

export type MemoryReason = 'heapUsedBytes' | 'rssBytes'

export interface MemoryLimits {
  /** 0 turns a limit off. */
  maxHeapUsedBytes: number
  maxRssBytes: number
  /** Shortest time between two collections this module asks for. */
  collectEveryMs: number
}

interface Measure {
  heapUsed: number
  rss: number
}

/** Full (mark-sweep-compact) collections, as the `gc` performance entries name them. */
const FULL_GC = constants.NODE_PERFORMANCE_GC_MAJOR

let collector: (() => void) | undefined

/**
 * V8's `gc()`: the one from `--expose-gc` when present, else one made available at run time.
 * Should a runtime refuse, collections V8 runs on its own are all there is to go by.
 */
function fullCollection (): () => void {
  if (collector !== undefined) return collector
  const exposed = (globalThis as { gc?: () => void }).gc
  if (typeof exposed === 'function') return (collector = exposed)
  try {
    // `--expose-gc` set after start applies to contexts created from then on.
    setFlagsFromString('--expose-gc')
    const made: unknown = runInNewContext('gc')
    collector = typeof made === 'function' ? made as () => void : () => {}
  } catch {
    collector = () => {}
  }
  return collector
}

function measure (): Measure {
  const { heapUsed, rss } = process.memoryUsage()
  return { heapUsed, rss }
}

export function watchMemoryPressure (limits: MemoryLimits) {
  /** The last measure taken right after a full collection, and when. */
  let afterCollection: (Measure & { at: number }) | undefined
  let lastAskedAt = -Infinity
  let reason: MemoryReason | undefined

  const observer = new PerformanceObserver((list) => {
    const full = list.getEntries().some((entry) => (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === FULL_GC)
    if (full) afterCollection = { ...measure(), at: performance.now() }
  })
  const watching = limits.maxHeapUsedBytes > 0 || limits.maxRssBytes > 0
  if (watching) observer.observe({ entryTypes: ['gc'] })

  function over (sample: Measure): MemoryReason | undefined {
    if (limits.maxHeapUsedBytes > 0 && sample.heapUsed > limits.maxHeapUsedBytes) return 'heapUsedBytes'
    if (limits.maxRssBytes > 0 && sample.rss > limits.maxRssBytes) return 'rssBytes'
    return undefined
  }

  /** Takes a sample; returns why memory is short now, or undefined. */
  function check (): MemoryReason | undefined {
    if (!watching) return undefined
    const raw = measure()
    // What is used now is at least what is live: under the limits, nothing to shed.
    if (over(raw) === undefined) return (reason = undefined)
    const now = performance.now()
    if (now - lastAskedAt >= limits.collectEveryMs) {
      lastAskedAt = now
      fullCollection()()
      afterCollection = { ...measure(), at: performance.now() }
    }
    // Over only if it was still over right after the last full collection.
    reason = afterCollection === undefined ? undefined : over(afterCollection)
    return reason
  }

  return {
    check,
    /** Why memory was short at the last check. */
    get reason () { return reason },
    /** Heap used right after the last full collection seen, if any. */
    get heapUsedAfterCollection () { return afterCollection?.heapUsed },
    stop () { observer.disconnect() }
  }
}

export type MemoryPressure = ReturnType<typeof watchMemoryPressure>
