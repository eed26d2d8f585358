// Which nodes of the cluster are alive, as this node reads the stream: each node's entries
// (heartbeats included) show it alive; one silent for NODE_TIMEOUT_MS is declared dead, and
// its clients may still come back here within the recovery window, so it is remembered that long.

/** A node without a heartbeat for this long is taken for dead: its members leave. */
export const NODE_TIMEOUT_MS = 5000

export interface NodesOptions {
  nodeId: string
  /** How long a dead node's clients may come back (and its interest is kept). */
  recoveryWindowMs: number
  /** A node died: what it had is gone. */
  onDied: (node: string) => void
  /** A dead node's recovery window ended. */
  onForgotten: (node: string) => void
}

export function createNodes ({ nodeId, recoveryWindowMs, onDied, onForgotten }: NodesOptions) {
  /** When each node's last entry was read. */
  const lastSeen = new Map<string, number>()
  /** Nodes this node has declared dead and not heard from since. */
  const declaredDead = new Set<string>()
  /** Nodes that died within the recovery window: their clients may restore their sessions here. */
  const deadNodes = new Map<string, { diedAt: number, timer: NodeJS.Timeout }>()
  /** Nodes whose snapshot this node has applied since it started. */
  const snapshotsFrom = new Set<string>()

  return {
    /** An entry of `node` was read (a heartbeat or a message). */
    seen (node: string): void {
      lastSeen.set(node, Date.now())
      declaredDead.delete(node)
    },

    /** A message of `node` was read: if it was taken for dead, it was only paused, and is back with what it had. */
    spoke (node: string): void {
      const dead = deadNodes.get(node)
      if (dead === undefined) return
      clearTimeout(dead.timer)
      deadNodes.delete(node)
    },

    /** A node was declared dead (by any node, maybe this one itself): it is not counted alive. */
    unseen (node: string): void {
      lastSeen.delete(node)
    },

    /** Another node was declared dead: its members leave, its clients may come back for a while. */
    died (node: string): void {
      onDied(node)
      if (deadNodes.has(node)) return
      const timer = setTimeout(() => {
        deadNodes.delete(node)
        onForgotten(node)
      }, recoveryWindowMs)
      timer.unref()
      // Its sockets went with its last heartbeat, a timeout before it was declared dead.
      deadNodes.set(node, { diedAt: Date.now() - NODE_TIMEOUT_MS, timer })
    },

    snapshotFrom (node: string): void {
      snapshotsFrom.add(node)
    },

    /**
     * Nodes silent for longer than NODE_TIMEOUT_MS, newly: to be declared dead. Only a node that
     * reads its own heartbeats can tell that others stopped.
     */
    overdue (): string[] {
      const now = Date.now()
      if (now - (lastSeen.get(nodeId) ?? 0) > NODE_TIMEOUT_MS / 2) return []
      const silent: string[] = []
      for (const [node, seen] of lastSeen) {
        if (node === nodeId || now - seen <= NODE_TIMEOUT_MS || declaredDead.has(node)) continue
        declaredDead.add(node)
        silent.push(node)
      }
      return silent
    },

    /** The declaration of `node` dead could not be sent: it may be declared again. */
    undeclare (node: string): void {
      declaredDead.delete(node)
    },

    /** Nodes whose entries were read lately (this one included). */
    known (): string[] {
      return [...lastSeen.keys()]
    },

    /** Nodes heard from within NODE_TIMEOUT_MS. */
    alive (): string[] {
      const now = Date.now()
      return [...lastSeen].filter(([, seen]) => now - seen <= NODE_TIMEOUT_MS).map(([node]) => node)
    },

    /** Nodes a client may come back from: dead ones within the window (with when they died), then known ones. */
    * sessionNodes (): Iterable<[node: string, diedAt: number | undefined]> {
      for (const node of new Set([...deadNodes.keys(), ...lastSeen.keys()])) yield [node, deadNodes.get(node)?.diedAt]
    },

    /** Whether every node heard from has sent its snapshot since this node started. */
    snapshotsComplete (): boolean {
      return [...lastSeen.keys()].every((node) => node === nodeId || snapshotsFrom.has(node))
    },

    get snapshots (): number {
      return snapshotsFrom.size
    }
  }
}

export type Nodes = ReturnType<typeof createNodes>
