// How long the event loop has been on its current turn. In one turn Node reads a request
// from every connection that has one waiting, and everything else waits for the turn to end:
// timers, other sockets, and new connections, of which libuv accepts one per turn (a
// kubelet's /health probe is a new connection each time). Under overload, with hundreds of
// busy keep-alive connections, a turn can last seconds while the mean delay of a sampled
// timer still looks moderate.

/** A clock that starts with the first call of a turn and is reset right after the turn's poll phase. */
export function turnClock (now: () => number = () => performance.now()) {
  let startedAt: number | undefined
  // setImmediate callbacks run in the check phase, right after the poll phase reads sockets.
  const endTurn = () => { startedAt = undefined }
  return {
    /** Milliseconds since this turn's first call; 0 on the first. */
    elapsed (): number {
      const time = now()
      if (startedAt === undefined) {
        startedAt = time
        setImmediate(endTurn)
        return 0
      }
      return time - startedAt
    }
  }
}
