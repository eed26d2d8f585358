// The socket.io rooms behind subscriptions, one per channel and kind. Each kind's prefix ends in
// "/", which no room or channel name may hold, so no client name reaches a socket's own room or
// a room of another kind.
import type { SubscriptionKind } from '../channels/names.ts'

export const KINDS: readonly SubscriptionKind[] = ['room', 'echo']

const prefixes: Record<SubscriptionKind, string> = { room: 'room/', echo: 'echo/' }

export function internalRoom (kind: SubscriptionKind, channel: string): string {
  return prefixes[kind] + channel
}

export function subscriptionOf (room: string): { kind: SubscriptionKind, channel: string } | undefined {
  if (room.startsWith(prefixes.room)) return { kind: 'room', channel: room.slice(prefixes.room.length) }
  if (room.startsWith(prefixes.echo)) return { kind: 'echo', channel: room.slice(prefixes.echo.length) }
  return undefined
}

export function channelsOf (rooms: Iterable<string>): Set<string> {
  const channels = new Set<string>()
  for (const room of rooms) {
    const name = subscriptionOf(room)?.channel
    if (name !== undefined) channels.add(name)
  }
  return channels
}
