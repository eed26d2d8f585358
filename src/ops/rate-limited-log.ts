// Log lines that clients can cause at will (refused requests, refused sockets): at most one a
// second of each kind, the next one written saying how many were left out, so a flood of bad
// requests costs the log a line a second. Metrics still count every refusal.

export const LOG_INTERVAL_MS = 1000

/** Writes a line of a kind, or only counts it within `intervalMs` of the last; kinds are the code's names, never client input. */
export function createRateLimitedLog (intervalMs = LOG_INTERVAL_MS, now: () => number = performance.now.bind(performance)) {
  const kinds = new Map<string, { writtenAt: number, notLogged: number }>()
  return function logRateLimited (kind: string, write: (notLogged: number | undefined) => void): void {
    const current = now()
    const last = kinds.get(kind)
    if (last === undefined) {
      kinds.set(kind, { writtenAt: current, notLogged: 0 })
      write(undefined)
      return
    }
    if (current - last.writtenAt < intervalMs) {
      last.notLogged += 1
      return
    }
    const { notLogged } = last
    last.writtenAt = current
    last.notLogged = 0
    write(notLogged > 0 ? notLogged : undefined)
  }
}

export type RateLimitedLog = ReturnType<typeof createRateLimitedLog>
