// Which channels events are kept for. A node is interested in a channel while one of its
// sockets is subscribed to it, while the session of a socket that dropped (and may come back)
// was, and while a restore reads it. Nodes announce when they start and stop being
// interested; every node keeps the events of a channel some node is interested in, so a
// client can recover on any node. Channels nobody is interested in cost nothing.
import { compare, type Position } from '../backplane/positions.ts'

export type InterestChange = [channel: string, interested: boolean]

/**
 * `announce` tells every node (over the bus); `position` is what this node has applied, which
 * is where it starts keeping a channel's events itself, before its announcement arrives.
 */
export function createInterest (announce: (changes: InterestChange[]) => void, position: () => Position) {
  /** This node's references to each channel (subscribed rooms, held sessions), and since when. */
  const references = new Map<string, { count: number, since: Position }>()

  /** channel → the nodes interested in it, and since when (the position of the first interest). */
  const nodes = new Map<string, { nodes: Set<string>, since: Position }>()
  /** Waiting for a channel to be kept. */
  const waiting = new Map<string, Array<() => void>>()

  function addNode (channel: string, node: string, position: Position): void {
    const entry = nodes.get(channel)
    if (entry !== undefined) {
      entry.nodes.add(node)
      return
    }
    nodes.set(channel, { nodes: new Set([node]), since: position })
    for (const resolve of waiting.get(channel) ?? []) resolve()
    waiting.delete(channel)
  }

  function removeNode (channel: string, node: string): void {
    const entry = nodes.get(channel)
    if (entry === undefined) return
    entry.nodes.delete(node)
    if (entry.nodes.size === 0) nodes.delete(channel)
  }

  return {
    add (channel: string): void {
      const reference = references.get(channel)
      if (reference !== undefined) {
        reference.count += 1
        return
      }
      references.set(channel, { count: 1, since: position() })
      announce([[channel, true]])
    },

    remove (channel: string): void {
      const reference = references.get(channel)
      if (reference === undefined) return
      reference.count -= 1
      if (reference.count > 0) return
      references.delete(channel)
      announce([[channel, false]])
    },

    /** Holds the channels for `ms` (a dropped client's session, while it may come back). */
    hold (channels: Iterable<string>, ms: number): void {
      const held = [...channels]
      for (const channel of held) this.add(channel)
      setTimeout(() => { for (const channel of held) this.remove(channel) }, ms).unref()
    },

    /** The channels this node is interested in now (for its snapshot). */
    local (): string[] {
      return [...references.keys()]
    },

    /** Applies a node's announced changes, in bus order. */
    apply (position: Position, node: string, changes: readonly InterestChange[]): void {
      for (const [channel, interested] of changes) {
        if (interested) addNode(channel, node, position)
        else removeNode(channel, node)
      }
    },

    /** Replaces what was known of a node's interest. */
    replace (position: Position, node: string, channels: readonly string[]): void {
      const current = new Set(channels)
      for (const [channel, entry] of [...nodes]) if (entry.nodes.has(node) && !current.has(channel)) removeNode(channel, node)
      for (const channel of current) addNode(channel, node, position)
    },

    /** Forgets a node (it died). */
    forget (node: string): void {
      for (const channel of [...nodes.keys()]) removeNode(channel, node)
    },

    /** Resolves once every node keeps the channel's events (at once if they do); rejects after `ms`. */
    whenKept (channel: string, ms: number): Promise<void> {
      if (nodes.has(channel)) return Promise.resolve()
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`channel ${channel} not kept within ${ms} ms`)), ms)
        const done = () => {
          clearTimeout(timer)
          resolve()
        }
        waiting.set(channel, [...waiting.get(channel) ?? [], done])
      })
    },

    /** Whether this node keeps the channel's events (some node is interested), and since which position. */
    keptSince (channel: string): Position | undefined {
      const everywhere = nodes.get(channel)?.since
      const here = references.get(channel)?.since
      if (everywhere === undefined || here === undefined) return everywhere ?? here
      return compare(everywhere, here) <= 0 ? everywhere : here
    },

    get channels (): number {
      return nodes.size
    }
  }
}

export type Interest = ReturnType<typeof createInterest>
