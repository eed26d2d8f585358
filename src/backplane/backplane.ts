// The backplane: everything that differs between one bridge and a cluster of them, behind one
// interface. An implementation (local/: one node, in memory; redis/: nodes sharing a Redis) owns
// the ordered bus between nodes, de-duplication claims, the sessions of clients that dropped,
// which nodes are alive, readiness and catching up. The transport (src/transport/) is the same
// on every deployment and never asks which implementation it has; src/backplane/create.ts picks
// one, once, from the configuration.
import type { EncodedEvent } from '../channels/delivery.ts'
import type { Member } from '../channels/member.ts'
import type { Position } from './positions.ts'

/** What nodes tell each other, in one order that every node applies alike. */
export type BusMessage =
  /** Events to deliver, in order; the i-th one is at the entry's position with index i. */
  | { type: 'events', events: readonly EncodedEvent[] }
  /** Channels this node started or stopped keeping events for (a subscriber, or a session of one that dropped). */
  | { type: 'interest', changes: Array<[channel: string, interested: boolean]> }
  /** Users whose first socket on this node joined a presence channel (a member), or whose last one left (null). */
  | { type: 'presence', changes: Array<[channel: string, user: string, member: Member | null]> }
  /** All of a node's interest and presence: replaces what others knew of it. */
  | { type: 'snapshot' } & NodeState

/** A node's interest and presence members, as its snapshot carries them. */
export interface NodeState {
  interest: string[]
  presence: Array<[channel: string, user: string, member: Member]>
}

/** What a node asks every node (the answers travel as counts and user ids, never sockets). */
export type Question =
  | { type: 'count', channel: string }
  | { type: 'channels', prefix: string }

export type Answer =
  | { type: 'count', subscribers: number, users: string[] }
  | { type: 'channels', channels: Array<[channel: string, subscribers: number]> }

/** What the backplane brings to its node (the transport implements it). */
export interface NodeHandler {
  /** Applies one message, in bus order, from `node` (this node's own messages too). */
  apply (position: Position, node: string, message: BusMessage): void
  /** An entry with nothing for the node (the backplane's own) was read at `position`. */
  passed (position: Position): void
  /** Delivers ephemeral events to this node's sockets (sent by any node, this one too). */
  deliver (events: readonly EncodedEvent[]): void
  /** Messages may have been lost (Redis restarted, or this node fell behind): nothing before now can be recovered. */
  lost (): void
  /** This node's interest and presence, for the other nodes (sent as a snapshot when they need it). */
  state (): NodeState
  /** A node died: what it had is gone (its presence members leave). */
  nodeDied (node: string): void
  /** A dead node's clients can no longer come back (its recovery window ended): forget its interest. */
  nodeForgotten (node: string): void
  /** This node's answer to a question. */
  answer (question: Question): Answer
}

/** De-duplication: a key (a uuid, a signature, a message's hash) claimed once per time window, on every node. */
export interface ClaimStore {
  /** Resolves true when this call claimed `key` for `ttlSeconds`, false when it was already claimed within the window. */
  claim (key: string, ttlSeconds: number): Promise<boolean>
  /** Claims each of `keys` (distinct) as `claim` does, in one step: a burst costs one round trip. */
  claimAll (keys: readonly string[], ttlSeconds: number): Promise<boolean[]>
  /** Gives a claim back, so that a publish that failed can be retried. */
  release (key: string): Promise<void>
  close (): Promise<void>
}

/** A client's session as recovery restores it: its id, subscriptions and socket data. */
export interface StoredSession {
  sid: string
  pid: string
  /** The socket.io rooms the socket was in (its own room excluded). */
  rooms: string[]
  /** `socket.data`: plain JSON, never credentials. */
  data: unknown
  /**
   * For each channel, the position after which the client may have missed its events,
   * whatever its offset says (a quiet channel's offset can be old): when the socket joined
   * the channel, or when its connection may have died, whichever is later.
   */
  from: Array<[channel: string, position: Position]>
}

/**
 * Copies of live sockets' sessions, kept where another node can take a client over before its
 * old connection was seen closed, or after its node died without a word.
 */
export interface LiveSessionCopies {
  /** The session of a live socket, as it is now (its rooms or data changed). */
  changed (session: StoredSession): void
  /** The socket is gone for good (not to be restored). */
  ended (pid: string): void
  /** A copy of another node's live session (taken, so it is restored once), and when that node died if it did. */
  take (pid: string): Promise<{ session: StoredSession, diedAt?: number } | undefined>
}

/** Sessions of clients that lost their connection, kept for the recovery window. */
export interface SessionStore {
  save (session: StoredSession): void
  /** The session, taken so it is restored once. */
  take (pid: string): Promise<StoredSession | undefined>
  /** Absent where every live socket is this node's own (the transport looks them up itself). */
  readonly live?: LiveSessionCopies
  close (): Promise<void>
}

/** A condition `/ready` waits for, named in its 503 while it fails. */
export interface ReadinessCheck {
  name: string
  ready: () => boolean
}

export interface Backplane {
  readonly nodeId: string
  readonly claims: ClaimStore
  readonly sessions: SessionStore
  readonly readiness: readonly ReadinessCheck[]
  /** Starts bringing messages to `handler`; resolves once this node may take connections. */
  start (handler: NodeHandler): Promise<void>
  /**
   * Hands events on, in order, and resolves once they are: kept ones stored for every node (and
   * applied), ephemeral ones on their way to every node's sockets. Rejects (a 503 error) when
   * nothing was handed on. Issue 21's crash-safe publish makes the claims part of this call.
   */
  publish (events: readonly EncodedEvent[]): Promise<void>
  /** Sends a message of this node to every node, this one included, in bus order. */
  send (message: BusMessage): Promise<void>
  /** False while messages cannot reach the other nodes. */
  ready (): boolean
  /** An event's position as clients keep it, and back (undefined: not one of this backplane's). */
  formatOffset (position: Position): string
  parseOffset (offset: string): Position | undefined
  /** Resolves once this node has applied everything sent so far, by any node. */
  caughtUp (): Promise<void>
  /** Every live node's answer (this one's included); rejects (a 503 error) when one does not answer. */
  ask (question: Question): Promise<Answer[]>
  close (): Promise<void>
}
