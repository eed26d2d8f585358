// The bus: one ordered stream of messages that every node applies in the same order, so that
// events, the channels nodes keep events for, and presence members agree everywhere. On a
// single node it is a loop back to the node itself (src/transport/local-bus.ts); in a
// cluster a Redis stream (src/transport/cluster-bus.ts). Ephemeral events (whispers) go
// beside the stream: delivered once to every node's sockets, stored nowhere.
import type { EncodedEvent } from './events.ts'
import type { Position } from './positions.ts'
import type { Member } from './presence.ts'

export type BusMessage =
  /** Events to deliver, in order; the i-th one is at the entry's position with index i. */
  | { type: 'events', events: EncodedEvent[] }
  /** Channels this node started or stopped keeping events for (a subscriber, or a session of one that dropped). */
  | { type: 'interest', changes: Array<[channel: string, interested: boolean]> }
  /** Users whose first socket on this node joined a presence channel (a member), or whose last one left (null). */
  | { type: 'presence', changes: Array<[channel: string, user: string, member: Member | null]> }
  /** All of a node's interest and presence: replaces what others knew of it. */
  | { type: 'snapshot', interest: string[], presence: Array<[channel: string, user: string, member: Member]> }
  /** A node started (or lost messages) and needs every node's snapshot. */
  | { type: 'hello' }
  /** A node stopped sending heartbeats: what it had is gone. */
  | { type: 'dead', node: string }

/** What a node asks every node (the answers travel as counts and user ids, never sockets). */
export type Question =
  | { type: 'count', channel: string }
  | { type: 'channels', prefix: string }

export type Answer =
  | { type: 'count', subscribers: number, users: string[] }
  | { type: 'channels', channels: Array<[channel: string, subscribers: number]> }

export interface BusHandler {
  /** Applies one message, in stream order, from `node` (this node's own messages too). */
  apply (position: Position, node: string, message: BusMessage): void
  /** Delivers ephemeral events to this node's sockets (sent by any node, this one too). */
  deliver (events: EncodedEvent[]): void
  /** Messages may have been lost (Redis restarted or this node fell behind): start over. */
  lost (): void
  /** This node's answer to a question. */
  answer (question: Question): Answer
}

export interface Bus {
  readonly nodeId: string
  /** Resolves once the message is stored for every node (cluster) or applied (single node). */
  send (message: BusMessage): Promise<void>
  /**
   * Resolves once the events are on their way to every node (cluster: Redis pub/sub, outside
   * the stream) or delivered (single node); they are never stored and have no position.
   */
  sendEphemeral (events: EncodedEvent[]): Promise<void>
  /** False while the cluster's Redis is unreachable. */
  ready (): boolean
  /** Starts applying messages (the ones this node sends too) with `handler`. */
  start (handler: BusHandler): Promise<void>
  /** An event's position as clients keep it, and back (undefined: not one of this bus's). */
  formatOffset (position: Position): string
  parseOffset (offset: string): Position | undefined
  /** Resolves once this node has applied everything sent to the bus so far, by any node. */
  caughtUp (): Promise<void>
  /** Every live node's answer (this one's included); rejects when one does not answer in time. */
  ask (question: Question): Promise<Answer[]>
  close (): Promise<void>
}
