// Channel names: what a name may be, the kind its prefix makes it, and the one audience per
// name. The bridge's room `R` is Laravel Echo's private channel `private-R` (so every protocol's
// check guards the same channel); a public channel `R` is another audience. Every protocol
// names channels through this file; the transport keys everything by the channel.
import { CHANNEL_PATTERN as CHANNEL_PATTERN_SOURCE } from '../schemas/fields.ts'

/**
 * How a socket subscribed, which is also the format it receives events in: the bridge's own
 * `subscribe { room }`, or Laravel Echo's `subscribe { channel }`.
 */
export type SubscriptionKind = 'room' | 'echo'

/** 1-164 characters of A-Z a-z 0-9 _ - = @ , . ; : (Pusher's rule, which Laravel follows). */
export const CHANNEL_PATTERN = new RegExp(CHANNEL_PATTERN_SOURCE)

export type ChannelKind = 'public' | 'private' | 'presence'

export function validChannelName (name: string): boolean {
  return CHANNEL_PATTERN.test(name)
}

/** `presence-…` and `private-…` need authorization; any other name is public. */
export function channelKind (name: string): ChannelKind {
  if (name.startsWith('presence-')) return 'presence'
  if (name.startsWith('private-')) return 'private'
  return 'public'
}

/** Rooms are 1-128 characters, so their channel stays within the 164 of a channel name. */
const ROOM_CHANNEL_PREFIX = 'private-'

/** The channel the bridge's room `room` is: Echo's private channel of that name. */
export function roomChannel (room: string): string {
  return ROOM_CHANNEL_PREFIX + room
}

/** The channel a client subscribing as `kind` names by `name` (Echo names channels as they are). */
export function channelOf (kind: SubscriptionKind, name: string): string {
  return kind === 'room' ? roomChannel(name) : name
}
