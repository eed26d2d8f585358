// Which nodes of the cluster are alive, as this node reads the stream (heartbeats included);
// a dead one is remembered for the recovery window, while its clients may come back here.

/** A node without a heartbeat for this long is taken for dead: its members leave. */
export const NODE_TIMEOUT_MS = 5000

export interface NodesOptions {
  nodeId: string
  recoveryWindowMs: number
  onDied: (node: string) => void
  onForgotten: (node: string) => void
  now?: () => number
}

export function createNodes ({ nodeId, recoveryWindowMs, onDied, onForgotten, now = Date.now }: NodesOptions) {
  const lastSeen = new Map<string, number>()
  const declaredDead = new Set<string>()
  const deadNodes = new Map<string, { diedAt: number | undefined, timer: NodeJS.Timeout }>()
  const snapshotsFrom = new Set<string>()

  return {
    seen (node: string): void {
      lastSeen.set(node, now())
      declaredDead.delete(node)
    },

    /** A message of `node`: if it was taken for dead, it was only paused, and is back with what it had. */
    spoke (node: string): void {
      const dead = deadNodes.get(node)
      if (dead === undefined) return
      clearTimeout(dead.timer)
      deadNodes.delete(node)
    },

    unseen (node: string): void {
      lastSeen.delete(node)
    },

    /** Another node was declared dead (called before `unseen`): its members leave, its clients may come back for a while. */
    died (node: string): void {
      onDied(node)
      if (deadNodes.has(node)) return
      const timer = setTimeout(() => {
        deadNodes.delete(node)
        onForgotten(node)
      }, recoveryWindowMs)
      timer.unref()
      // Its sockets went with its last heartbeat: a timeout before it was declared dead, or earlier
      // if the declaration came late. A node this one never heard from died before it started (a
      // restart in its place): when is unknown, so its clients' offsets alone tell what they got.
      const seen = lastSeen.get(node)
      deadNodes.set(node, { diedAt: seen === undefined ? undefined : Math.min(seen, now() - NODE_TIMEOUT_MS), timer })
    },

    snapshotFrom (node: string): void {
      snapshotsFrom.add(node)
    },

    /** Nodes newly silent past NODE_TIMEOUT_MS; only a node reading its own heartbeats can tell. */
    overdue (): string[] {
      const time = now()
      if (time - (lastSeen.get(nodeId) ?? 0) > NODE_TIMEOUT_MS / 2) return []
      const silent: string[] = []
      for (const [node, seen] of lastSeen) {
        if (node === nodeId || time - seen <= NODE_TIMEOUT_MS || declaredDead.has(node)) continue
        declaredDead.add(node)
        silent.push(node)
      }
      return silent
    },

    undeclare (node: string): void {
      declaredDead.delete(node)
    },

    known (): string[] {
      return [...lastSeen.keys()]
    },

    alive (): string[] {
      const time = now()
      return [...lastSeen].filter(([, seen]) => time - seen <= NODE_TIMEOUT_MS).map(([node]) => node)
    },

    /** Dead nodes within the window (with when they died), then known ones. */
    * sessionNodes (): Iterable<[node: string, diedAt: number | undefined]> {
      for (const node of new Set([...deadNodes.keys(), ...lastSeen.keys()])) yield [node, deadNodes.get(node)?.diedAt]
    },

    /** Live nodes (this one aside) whose state this node has not read yet. */
    withoutSnapshot (): string[] {
      return [...lastSeen.keys()].filter((node) => node !== nodeId && !snapshotsFrom.has(node))
    }
  }
}

export type Nodes = ReturnType<typeof createNodes>
