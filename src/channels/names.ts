// Channel names: what a name may be, its kind, and one audience per name: the bridge's room `R`
// is Echo's private channel `private-R` (every protocol's check guards the same channel), a
// public channel `R` another audience. The transport keys everything by the channel.
import { CHANNEL_PATTERN as CHANNEL_PATTERN_SOURCE } from '../schemas/fields.ts'

/** How a socket subscribed, which is also the format it receives events in. */
export type SubscriptionKind = 'room' | 'echo'

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

export function roomChannel (room: string): string {
  return ROOM_CHANNEL_PREFIX + room
}

export function channelOf (kind: SubscriptionKind, name: string): string {
  return kind === 'room' ? roomChannel(name) : name
}

/** A signed-in Pusher-protocol user's own channel (`sendToUser`); only their connections are in it. */
const SERVER_TO_USER_PREFIX = '#server-to-user-'

export function serverToUserChannel (userId: string): string {
  return SERVER_TO_USER_PREFIX + userId
}

export function isServerToUserChannel (name: string): boolean {
  return name.startsWith(SERVER_TO_USER_PREFIX)
}

/** Not a client event name: closes the user's Pusher connections on every node (terminate_connections). */
export const TERMINATE_USER_EVENT = 'pusher_internal:terminate'
