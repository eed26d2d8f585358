// The socket.io rooms behind subscriptions: one per channel and subscription kind. A client
// never names a socket.io room directly: each kind has a prefix ending in "/", a character no
// room or channel name may contain, so no client name can reach a socket's own room (named by
// its id) or a room of another kind. No other file knows these names.
import type { SubscriptionKind } from '../channels/names.ts'

export const KINDS: readonly SubscriptionKind[] = ['room', 'echo']

const prefixes: Record<SubscriptionKind, string> = { room: 'room/', echo: 'echo/' }

/** The socket.io room of the subscribers of `channel` that subscribed as `kind`. */
export function internalRoom (kind: SubscriptionKind, channel: string): string {
  return prefixes[kind] + channel
}

/** The kind and channel behind a socket.io room, or undefined for rooms clients cannot name. */
export function subscriptionOf (room: string): { kind: SubscriptionKind, channel: string } | undefined {
  if (room.startsWith(prefixes.room)) return { kind: 'room', channel: room.slice(prefixes.room.length) }
  if (room.startsWith(prefixes.echo)) return { kind: 'echo', channel: room.slice(prefixes.echo.length) }
  return undefined
}

/** The channels (either kind) among socket.io rooms. */
export function channelsOf (rooms: Iterable<string>): Set<string> {
  const channels = new Set<string>()
  for (const room of rooms) {
    const name = subscriptionOf(room)?.channel
    if (name !== undefined) channels.add(name)
  }
  return channels
}
