// What the overload scenarios watch on a server while load runs: its peak RSS, and how long
// `/health` takes to answer a prober that opens a new connection each time, as Kubernetes does.
import { get } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import type { ServerProcess } from './servers.ts'

/** The server's peak RSS while `work` runs, sampled every 100 ms. */
export async function peakRss<T> (server: ServerProcess, work: () => Promise<T>): Promise<{ result: T, peak: number, before: number }> {
  const before = (await server.usage()).rss
  let peak = before
  const state = { running: true }
  const sampler = (async () => {
    while (state.running) {
      try {
        peak = Math.max(peak, (await server.usage()).rss)
      } catch {
        return // the server died (on purpose, in the SIGKILL scenario)
      }
      await sleep(100)
    }
  })()
  try {
    const result = await work()
    state.running = false
    await sampler
    return { result, peak, before }
  } finally {
    state.running = false
  }
}

export interface HealthProbe {
  /** Wall-clock time it was sent (ms since the epoch, comparable with the load generator's). */
  sentAt: number
  /** Time to the whole 200 answer, in ms; NaN when it failed, was not 200 or took longer than the timeout. */
  latency: number
}

/** Milliseconds to a whole `/health` 200 over a new connection; NaN if none came within `timeoutMs`. */
function probeHealth (url: string, timeoutMs: number): Promise<number> {
  const sentAt = performance.now()
  return new Promise((resolve) => {
    const request = get(`${url}/health`, { agent: false, timeout: timeoutMs }, (response) => {
      response.resume()
      response.once('end', () => resolve(response.statusCode === 200 ? performance.now() - sentAt : Number.NaN))
    })
    request.once('timeout', () => request.destroy())
    request.once('error', () => resolve(Number.NaN))
  })
}

/** Probes `/health` every `everyMs` while `work` runs; probes overlap when one is slow, as a prober's do. */
export async function healthWhile<T> (url: string, everyMs: number, work: () => Promise<T>): Promise<{ result: T, probes: HealthProbe[] }> {
  const probes: HealthProbe[] = []
  const pending: Array<Promise<void>> = []
  const state = { running: true }
  const prober = (async () => {
    while (state.running) {
      const sentAt = performance.timeOrigin + performance.now()
      pending.push(probeHealth(url, 10_000).then((latency) => { probes.push({ sentAt, latency }) }))
      await sleep(everyMs)
    }
  })()
  let result: T
  try {
    result = await work()
  } finally {
    state.running = false
    await prober
    await Promise.all(pending)
  }
  return { result, probes }
}
