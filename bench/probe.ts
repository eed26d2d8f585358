// Loaded into a server under test (`--import`): reports its CPU time and memory to the
// benchmark, and records a CPU profile on request. It changes nothing else in the server.
import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { writeHeapSnapshot } from 'node:v8'
import { serve } from './ipc.ts'

export interface Usage {
  /** User + system CPU time of the whole process, in microseconds. */
  cpuMicros: number
  /** The part of it spent in the kernel (system calls: socket writes and reads). */
  systemMicros: number
  rss: number
  /** What V8 has reserved for its heap: RSS beyond heap + external starts here. */
  heapTotal: number
  heapUsed: number
  external: number
  arrayBuffers: number
}

let session: Session | undefined

function usage (collectGarbage: boolean): Usage {
  const gc = (globalThis as { gc?: () => void }).gc
  if (collectGarbage && gc !== undefined) {
    // Twice: the first pass can leave weakly held objects for the second.
    gc()
    gc()
  }
  const cpu = process.cpuUsage()
  const memory = process.memoryUsage()
  return {
    cpuMicros: cpu.user + cpu.system,
    systemMicros: cpu.system,
    rss: memory.rss,
    heapTotal: memory.heapTotal,
    heapUsed: memory.heapUsed,
    external: memory.external,
    arrayBuffers: memory.arrayBuffers
  }
}

serve({
  usage: (options: { gc?: boolean }) => usage(options.gc === true),
  heapSnapshot: (options: { file: string }) => writeHeapSnapshot(options.file),
  profileStart: async () => {
    session = new Session()
    session.connect()
    await session.post('Profiler.enable')
    await session.post('Profiler.setSamplingInterval', { interval: 100 })
    await session.post('Profiler.start')
  },
  profileStop: async (options: { file: string }) => {
    if (session === undefined) throw new Error('no profile running')
    const { profile } = await session.post('Profiler.stop')
    writeFileSync(options.file, JSON.stringify(profile))
    session.disconnect()
    session = undefined
    return options.file
  }
}, { keepAlive: false })
