// Which channels have a subscriber anywhere in the cluster, for webhooks' channel_occupied and
// channel_vacated. Each node counts its own subscriptions of every protocol (a dropped socket's
// for a grace while its client may come back) and announces its first and last over the bus;
// every node applies the announcements in the bus's order, so all see the same changes.

export type OccupancyChange = [channel: string, occupied: boolean]

export interface OccupancyEvents {
  occupied: (channel: string) => void
  vacated: (channel: string) => void
}

export function createOccupancy (announce: (changes: OccupancyChange[]) => void, events: OccupancyEvents) {
  const references = new Map<string, number>()
  /** channel → the nodes with a subscriber there. */
  const nodes = new Map<string, Set<string>>()

  function changed (channel: string, occupied: boolean): void {
    // At once, as presence announces: a channel's occupied comes before its first member_added.
    announce([[channel, occupied]])
  }

  function addNode (channel: string, node: string): void {
    const present = nodes.get(channel)
    if (present !== undefined) {
      present.add(node)
      return
    }
    nodes.set(channel, new Set([node]))
    events.occupied(channel)
  }

  function removeNode (channel: string, node: string): void {
    const present = nodes.get(channel)
    if (present === undefined || !present.delete(node) || present.size > 0) return
    nodes.delete(channel)
    events.vacated(channel)
  }

  return {
    add (channel: string): void {
      const count = references.get(channel) ?? 0
      references.set(channel, count + 1)
      if (count === 0) changed(channel, true)
    },

    remove (channel: string): void {
      const count = references.get(channel)
      if (count === undefined) return
      if (count > 1) {
        references.set(channel, count - 1)
        return
      }
      references.delete(channel)
      changed(channel, false)
    },

    /** A dropped socket's channels stay occupied for `ms`: a client back within it changes nothing. */
    hold (channels: Iterable<string>, ms: number): void {
      const held = [...channels]
      for (const channel of held) this.add(channel)
      setTimeout(() => { for (const channel of held) this.remove(channel) }, ms).unref()
    },

    local (): string[] {
      return [...references.keys()]
    },

    apply (node: string, changes: readonly OccupancyChange[]): void {
      for (const [channel, occupied] of changes) {
        if (occupied) addNode(channel, node)
        else removeNode(channel, node)
      }
    },

    replace (node: string, channels: readonly string[]): void {
      const current = new Set(channels)
      for (const [channel, present] of [...nodes]) if (present.has(node) && !current.has(channel)) removeNode(channel, node)
      for (const channel of current) addNode(channel, node)
    },

    /** A dead node's channels: vacated unless another node has them. */
    forget (node: string): void {
      for (const channel of [...nodes.keys()]) removeNode(channel, node)
    },

    get channels (): number {
      return nodes.size
    }
  }
}

export type Occupancy = ReturnType<typeof createOccupancy>
