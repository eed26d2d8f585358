// Which channels events are kept for: a node is interested in a channel while a socket of it is
// subscribed, a dropped session of one may come back, or a restore reads it. Every node keeps
// the events of a channel some node is interested in, so a client can recover on any node.
import { compare, type Position } from '../backplane/positions.ts'

export type InterestChange = [channel: string, interested: boolean]

/**
 * `positionOf`: how far this node has applied a channel's shard, from where it keeps the channel's
 * events (its own interest, before its announcement arrives, or another node's once applied).
 */
export function createInterest (announce: (changes: InterestChange[]) => void, positionOf: (channel: string) => Position) {
  const references = new Map<string, { count: number, since: Position }>()

  /** channel → the nodes interested in it, and since when (the position of the first interest). */
  const nodes = new Map<string, { nodes: Set<string>, since: Position }>()
  const waiting = new Map<string, Array<() => void>>()

  function addNode (channel: string, node: string): void {
    const entry = nodes.get(channel)
    if (entry !== undefined) {
      entry.nodes.add(node)
      return
    }
    nodes.set(channel, { nodes: new Set([node]), since: positionOf(channel) })
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
      references.set(channel, { count: 1, since: positionOf(channel) })
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

    hold (channels: Iterable<string>, ms: number): void {
      const held = [...channels]
      for (const channel of held) this.add(channel)
      setTimeout(() => { for (const channel of held) this.remove(channel) }, ms).unref()
    },

    local (): string[] {
      return [...references.keys()]
    },

    apply (node: string, changes: readonly InterestChange[]): void {
      for (const [channel, interested] of changes) {
        if (interested) addNode(channel, node)
        else removeNode(channel, node)
      }
    },

    replace (node: string, channels: readonly string[]): void {
      const current = new Set(channels)
      for (const [channel, entry] of [...nodes]) if (entry.nodes.has(node) && !current.has(channel)) removeNode(channel, node)
      for (const channel of current) addNode(channel, node)
    },

    forget (node: string): void {
      for (const channel of [...nodes.keys()]) removeNode(channel, node)
    },

    /** Resolves once every node keeps the channel's events; rejects after `ms`. */
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
