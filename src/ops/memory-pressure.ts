// Memory pressure that ends when the memory is free: raw heap and RSS count garbage, and a
// process shedding load may not collect for minutes, so a sample over its threshold is trusted
// only once measured again after a full collection (V8's own, or one asked for, at most once
// per `collectEveryMs`).
import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

export type MemoryReason = 'heapUsedBytes' | 'rssBytes'

export interface MemoryLimits {
  /** 0 turns a limit off. */
  maxHeapUsedBytes: number
  maxRssBytes: number
  collectEveryMs: number
}

interface Measure {
  heapUsed: number
  rss: number
}

const FULL_GC = constants.NODE_PERFORMANCE_GC_MAJOR

let collector: (() => void) | undefined

/** V8's `gc()`, from `--expose-gc` or made available at run time; without it, V8's own collections count. */
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
    reason = afterCollection === undefined ? undefined : over(afterCollection)
    return reason
  }

  return {
    check,
    get reason () { return reason },
    get heapUsedAfterCollection () { return afterCollection?.heapUsed },
    stop () { observer.disconnect() }
  }
}

export type MemoryPressure = ReturnType<typeof watchMemoryPressure>
