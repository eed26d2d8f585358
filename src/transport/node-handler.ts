// What this node does with what the backplane brings it: applies the bus's messages in order
// (events to the sockets and the kept history, interest, presence), delivers ephemeral events,
// and answers the other nodes' questions.
import type { NodeHandler } from '../backplane/backplane.ts'
import { CONTROL, type Clock, type Position } from '../backplane/positions.ts'
import type { createCounts } from './counts.ts'
import type { FanOut } from './fan-out.ts'
import type { createHistory } from './history.ts'
import type { WebhookCollector } from '../webhooks/events.ts'
import type { Interest } from './interest.ts'
import type { LiveSessions } from './live-sessions.ts'
import type { Occupancy } from './occupancy.ts'
import type { Presence } from './presence.ts'
import type { Recovery } from './recovery.ts'

export interface NodeParts {
  recovery: Recovery
  history: ReturnType<typeof createHistory>
  interest: Interest
  presence: Presence
  occupancy: Occupancy
  webhooks: WebhookCollector
  fanOut: FanOut
  counts: ReturnType<typeof createCounts>
  live: LiveSessions
  formatOffset: (clock: Clock) => string
  /** Closes the connections of sockets that may have missed events: each reconnects and is told whether it recovered. */
  dropSubscribed: () => void
}

export function createNodeHandler ({ recovery, history, interest, presence, occupancy, webhooks, fanOut, counts, live, formatOffset, dropSubscribed }: NodeParts): NodeHandler {
  return {
    apply (shard, position, node, message) {
      if (message.type === 'events') {
        message.events.forEach((event, index) => {
          const at: Position = [position[0], position[1], index]
          recovery.applied(shard, at, event)
          history.applied(shard, at, event)
          // The clock once it is applied: a client that got it got everything before it.
          fanOut.deliver(event, formatOffset(recovery.clock))
        })
        return
      }
      // First: what the entry starts (a node's interest) starts from its position.
      if (shard !== CONTROL) recovery.advance(shard, position)
      switch (message.type) {
        case 'interest':
          interest.apply(node, message.changes)
          break
        case 'presence':
          presence.apply(node, message.changes)
          break
        case 'occupancy':
          occupancy.apply(node, message.changes)
          break
        case 'client-events':
          webhooks.clientEvents(message.notes)
          break
        case 'snapshot':
          interest.replace(node, message.interest)
          presence.replace(node, message.presence)
          if (message.occupied !== undefined) occupancy.replace(node, message.occupied)
          break
      }
      // What the entry changed is a webhook under its position, alike on every node.
      webhooks.applied(position)
    },
    passed (shard, position) {
      // A dead node's entry: its channels and members left just before.
      webhooks.applied(position)
      if (shard !== CONTROL) recovery.advance(shard, position)
    },
    started (shard, position) {
      // Nothing before `position` was read here: it is not kept, and sockets that joined meanwhile joined there.
      recovery.advance(shard, position)
      history.startedAt(shard, position)
      live.startedAt(shard, position)
    },
    stopped (shard) {
      recovery.forget(shard)
      history.forget(shard)
    },
    deliver (events) {
      // Not kept: they carry the offset of the last applied event, which a client may resume from.
      const offset = recovery.currentOffset()
      for (const event of events) fanOut.deliver(event, offset)
    },
    lost (skipped) {
      // Every event up to now may be missing here, and those after the last one applied (the
      // entries lost): no session can recover from it or before. Before any later entry, though.
      history.lostThrough(recovery.clock)
      recovery.lost()
      // Connected sockets missed events without a word: closed, they come back told recovered === false.
      if (skipped === true) dropSubscribed()
    },
    state: () => ({ interest: interest.local(), presence: presence.localMembers(), ...(webhooks.enabled && { occupied: occupancy.local() }) }),
    nodeDied (node) {
      presence.forget(node)
      occupancy.forget(node)
    },
    nodeForgotten: (node) => interest.forget(node),
    answer (question) {
      if (question.type === 'count') return { type: 'count', ...counts.local(question.channel) }
      return { type: 'channels', channels: counts.localChannels(question.prefix) }
    }
  }
}
