// Names clients use, the channel each names, and the socket.io rooms behind them. One audience
// per name: section 3's room `R` is Echo's private channel `private-R`, so every protocol's check
// guards the same channel, and a public channel `R` is another audience. No other file knows
// this mapping. A client never names a socket.io room directly: each subscription kind has a
// prefix ending in "/", a character no room or channel name may contain, so no client name can
// reach a socket's own room (named by its id) or a room of another kind.

/** How a socket subscribed: the bridge's own `subscribe { room }` or Laravel Echo's `subscribe { channel }`. */
export type SubscriptionKind = 'room' | 'echo'

const prefixes: Record<SubscriptionKind, string> = { room: 'room/', echo: 'echo/' }

/** Rooms are 1-128 characters, so their channel stays within the 164 of a channel name. */
const ROOM_CHANNEL_PREFIX = 'private-'

/** The channel section 3's room `room` is: Echo's private channel of that name. */
export function roomChannel (room: string): string {
  return ROOM_CHANNEL_PREFIX + room
}

/** The channel a client subscribing as `kind` names by `name` (Echo names channels as they are). */
export function channelOf (kind: SubscriptionKind, name: string): string {
  return kind === 'room' ? roomChannel(name) : name
}

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
