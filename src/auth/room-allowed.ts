// Room authorization: may this connection join this room?

/** What a verified connection token grants: its user and the rooms it may join. */
export interface ConnectionGrant {
  userId: string
  /** Exact room names, or prefixes ending in `*` (`chat_*` allows `chat_1`, `chat_2`, …). */
  rooms: readonly string[]
}

/** What a verified per-room token grants: one room, to one user. */
export interface RoomGrant {
  userId: string
  room: string
}

/** Whether `room` is one of `patterns`, or starts with a pattern's prefix before `*`. */
export function roomMatches (room: string, patterns: readonly string[]): boolean {
  return patterns.some((pattern) => pattern.endsWith('*')
    ? room.startsWith(pattern.slice(0, -1))
    : room === pattern)
}

/**
 * A room is allowed when the connection token's `rooms` allow it, or when a per-room token
 * of the same user names exactly this room.
 */
export function roomAllowed (room: string, connection: ConnectionGrant, roomToken?: RoomGrant): boolean {
  if (roomMatches(room, connection.rooms)) return true
  return roomToken !== undefined && roomToken.userId === connection.userId && roomToken.room === room
}
