// Default memory thresholds of load shedding: 90% of what the process can have before it
// dies, so the bridge sheds load while it can still recover.
import { totalmem } from 'node:os'
import { getHeapStatistics } from 'node:v8'

/** 90% of V8's heap limit, which follows `--max-old-space-size`. */
export function defaultMaxHeapUsedBytes (): number {
  return Math.floor(getHeapStatistics().heap_size_limit * 0.9)
}

/** 90% of the memory limit: the container's (cgroup) when there is one, else the machine's. */
export function defaultMaxRssBytes (): number {
  const machine = totalmem()
  // Node 20 answers undefined without a limit, later versions 0, and some cgroups 2^64.
  const constrained = process.constrainedMemory?.() ?? 0
  return Math.floor((constrained > 0 && constrained < machine ? constrained : machine) * 0.9)
}
