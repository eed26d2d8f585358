// Names clients use and the socket.io rooms behind them. A client never names a socket.io room
// directly: each subscription kind has a prefix ending in "/", a character no room or channel
// name may contain, so no client name can reach a socket's own room (named by its id) or a
// room of another kind.

/** How a socket subscribed: the bridge's own `subscribe { room }` or Laravel Echo's `subscribe { channel }`. */
export type SubscriptionKind = 'room' | 'echo'

const prefixes: Record<SubscriptionKind, string> = { room: 'room/', echo: 'echo/' }

/** The socket.io room of the subscribers of `name` that subscribed as `kind`. */
export function internalRoom (kind: SubscriptionKind, name: string): string {
  return prefixes[kind] + name
}

/** The kind and client name behind a socket.io room, or undefined for rooms clients cannot name. */
export function clientName (room: string): { kind: SubscriptionKind, name: string } | undefined {
  if (room.startsWith(prefixes.room)) return { kind: 'room', name: room.slice(prefixes.room.length) }
  if (room.startsWith(prefixes.echo)) return { kind: 'echo', name: room.slice(prefixes.echo.length) }
  return undefined
}
