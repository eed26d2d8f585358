// Room authorization: may this connection join this room?

export interface ConnectionGrant {
  userId: string
  /** Exact room names, or prefixes ending in `*` (`chat_*` allows `chat_1`, `chat_2`, …). */
  rooms: readonly string[]
}

export interface RoomGrant {
  userId: string
  room: string
}

export function roomMatches (room: string, patterns: readonly string[]): boolean {
  return patterns.some((pattern) => pattern.endsWith('*')
    ? room.startsWith(pattern.slice(0, -1))
    : room === pattern)
}

/** Allowed by the connection token's `rooms`, or by a per-room token of the same user naming exactly this room. */
export function roomAllowed (room: string, connection: ConnectionGrant, roomToken?: RoomGrant): boolean {
  if (roomMatches(room, connection.rooms)) return true
  return roomToken !== undefined && roomToken.userId === connection.userId && roomToken.room === room
}
