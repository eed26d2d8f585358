// The backplane: everything that differs between one bridge and a cluster of them, behind one
// interface (the bus between nodes, claims, sessions, node liveness, readiness). The transport is
// the same on every deployment; src/backplane/create.ts picks the implementation, once.
import type { EncodedEvent } from '../channels/delivery.ts'
import type { Member } from '../channels/member.ts'
import type { WebhookEntry } from '../webhooks/delivery-queue.ts'
import type { ClientEventNote, WebhookEvent } from '../webhooks/events.ts'
import type { Clock, Position } from './positions.ts'

/** What nodes tell each other, in one order that every node applies alike. */
export type BusMessage =
    /** The i-th event is at the entry's position with index i. */
  | { type: 'events', events: readonly EncodedEvent[] }
    /** Channels this node started or stopped keeping events for. */
  | { type: 'interest', changes: Array<[channel: string, interested: boolean]> }
    /** A user's first socket on this node joined a presence channel (a member), or their last left (null). */
  | { type: 'presence', changes: Array<[channel: string, user: string, member: Member | null]> }
    /** Channels this node got its first subscriber in (true) or lost its last one (false), for webhooks. */
  | { type: 'occupancy', changes: Array<[channel: string, occupied: boolean]> }
    /** Whispers to report as webhooks' client_event (only when BRIDGE_WEBHOOK_EVENTS lists it). */
  | { type: 'client-events', notes: ClientEventNote[] }
  | { type: 'snapshot' } & NodeState

export interface NodeState {
  interest: string[]
  presence: Array<[channel: string, user: string, member: Member]>
  /** Channels with a subscriber on the node (absent: webhooks are off there). */
  occupied?: string[]
}

/** The answers travel as counts and user ids, never sockets. */
export type Question =
  | { type: 'count', channel: string }
  | { type: 'channels', prefix: string }

export type Answer =
  | { type: 'count', subscribers: number, users: string[] }
  | { type: 'channels', channels: Array<[channel: string, subscribers: number]> }

/** What the backplane brings to its node (the transport implements it). */
export interface NodeHandler {
  /** The entry at `position` of `shard` (positions compare within a shard; CONTROL: the nodes' own stream of a split bus, no channel's). */
  apply (shard: number, position: Position, node: string, message: BusMessage): void
  /** This node reads `shard` from now on, after `position` (it knows nothing of it before). */
  started (shard: number, position: Position): void
  /** This node no longer reads `shard`. */
  stopped (shard: number): void
  /** An entry of the backplane's own (nothing for the node) was read at `position` of `shard`. */
  passed (shard: number, position: Position): void
  deliver (events: readonly EncodedEvent[]): void
  /**
   * Messages may have been lost: nothing before now can be recovered. `skipped`: events were
   * read past unseen (this node fell behind), so its connected clients may have missed some too.
   */
  lost (skipped?: boolean): void
  /** This node's interest and presence, sent as a snapshot when the others need it. */
  state (): NodeState
  nodeDied (node: string): void
  /** A dead node's recovery window ended: forget its interest. */
  nodeForgotten (node: string): void
  answer (question: Question): Answer
}

export interface BackplaneStats {
  /** How far this node's reading of the bus is behind its newest entry known here, in seconds. */
  lagSeconds: number
  /** Times the connection to the bus came back after it was lost (a restart or failover of Redis). */
  reconnects: number
  /** Shards of the bus this node reads now (a bus of one stream, read whole, is one). */
  shardsRead: number
  /** Events this node has read from other nodes' bus: those of its channels' shards. */
  eventsRead: number
}

/** What a publish claims: a key per event (undefined: nothing to claim) for `ttlSeconds`, and a guard for all of them (a signature). */
export interface PublishClaims {
  keys: ReadonlyArray<string | undefined>
  ttlSeconds: number
  guard?: { key: string, ttlSeconds: number }
}

/** De-duplication: a key claimed once per time window, on every node. */
export interface ClaimStore {
  /** False when the key was already claimed within the window. */
  claim (key: string, ttlSeconds: number): Promise<boolean>
  /** As `claim` for each of `keys`, in one step: a burst costs one round trip. */
  claimAll (keys: readonly string[], ttlSeconds: number): Promise<boolean[]>
  release (key: string): Promise<void>
  close (): Promise<void>
}

export interface StoredSession {
  sid: string
  pid: string
  rooms: string[]
  /** `socket.data`: plain JSON, never credentials. */
  data: unknown
  /** Per channel, after which position the client may have missed events (joined, or died, whichever is later). */
  from: Array<[channel: string, position: Position]>
}

/** Copies of live sockets' sessions, for another node to take a client over (its node may have died). */
export interface LiveSessionCopies {
  changed (session: StoredSession): void
  ended (pid: string): void
  /** Taken, so it is restored once; with when its node died, if it did. */
  take (pid: string): Promise<{ session: StoredSession, diedAt?: number } | undefined>
}

export interface SessionStore {
  save (session: StoredSession): void
  take (pid: string): Promise<StoredSession | undefined>
  /** Absent where every live socket is this node's own (the transport reads them directly). */
  readonly live?: LiveSessionCopies
  close (): Promise<void>
}

/** Where the one sending node puts what it is to deliver (src/webhooks/delivery-queue.ts). */
export interface WebhookSink {
  add: (entry: WebhookEntry) => void
  /** The last entry whose events were all delivered or dropped, every earlier one too. */
  delivered: () => string | undefined
  accepting: () => boolean
  close: () => void
}

/**
 * Webhook events derived from the bus, kept until delivered: every node appends what it derives
 * (the log keeps one copy), and one node of the cluster at a time hands the log to its sink.
 */
export interface WebhookLog {
  append: (position: Position, events: WebhookEvent[]) => void
  /** Takes part in sending: `open` is called each time this node becomes the sender. */
  start: (open: () => WebhookSink) => void
  readonly sending: boolean
  close: () => Promise<void>
}

export interface ReadinessCheck {
  name: string
  ready: () => boolean
}

export interface Backplane {
  readonly nodeId: string
  readonly claims: ClaimStore
  readonly sessions: SessionStore
  readonly webhooks: WebhookLog
  readonly readiness: readonly ReadinessCheck[]
  /** Resolves once this node may take connections. */
  start (handler: NodeHandler): Promise<void>
  /**
   * Hands events on, in order: kept ones stored for every node, ephemeral ones to every node's
   * sockets; rejects (503) when nothing was handed on. With `claims`, only the events whose key it
   * claims (and all of them only if it claims the guard), and a key stays claimed only when its
   * event was handed on, a crash included; answers which events were handed on.
   */
  publish (events: readonly EncodedEvent[], claims?: PublishClaims): Promise<boolean[]>
  send (message: BusMessage): Promise<void>
  ready (): boolean
  /** The shard of the bus a channel's events go through: its positions compare with that shard's only. */
  shardOf (channel: string): number
  /** This node needs the channel's events from now on (a socket is in it), until as many `unwatch` calls. */
  watch (channel: string): void
  unwatch (channel: string): void
  /** Resolves once a watched channel's events reach this node. */
  reading (channel: string): Promise<void>
  /** How far a client got (a clock: a position per shard) as it keeps it, and back (undefined: not this backplane's). */
  formatOffset (clock: Clock): string
  parseOffset (offset: string): Clock | undefined
  caughtUp (): Promise<void>
  /**
   * The kept events of each channel after its position, up to `upTo` in the channel's shard, read
   * back from what the bus still holds (a node that was not keeping them: restarted, or new);
   * undefined when some may be gone.
   */
  readBack (after: ReadonlyMap<string, Position>, upTo: Clock): Promise<Array<{ position: Position, event: EncodedEvent }> | undefined>
  stats (): BackplaneStats
  /** Every live node's answer, this one's included; rejects (503) when one does not answer. */
  ask (question: Question): Promise<Answer[]>
  close (): Promise<void>
}
