// Socket tokens: the JWTs Laravel issues to frontends (HS256, BRIDGE_JWT_SECRET), verified
// with fast-jwt pinned to HS256, so `alg: none` and every other algorithm are refused.
import { createVerifier } from 'fast-jwt'
import type { ConnectionGrant, RoomGrant } from './room-allowed.ts'

/** A connection token's grant, with its optional `user_info` claim (a presence member's `user_info`). */
export interface ConnectionTokenGrant extends ConnectionGrant {
  userInfo?: unknown
}

export interface SocketTokenVerifier {
  /** The grant of a connection token (`sub`, `exp`, optional `rooms`, `user_info`); throws when it is not valid. */
  connection: (token: unknown) => ConnectionTokenGrant
  /** The grant of a per-room token (`sub`, `room`, `exp`); throws when it is not valid. */
  room: (token: unknown) => RoomGrant
}

export class InvalidTokenError extends Error {
  override name = 'InvalidTokenError'
}

/** A user id: JWT says string, PHP often sends the integer id; both mean the same user. */
function userIdOf (sub: unknown): string {
  if (typeof sub === 'string' && sub !== '') return sub
  if (typeof sub === 'number' && Number.isSafeInteger(sub)) return String(sub)
  throw new InvalidTokenError('sub must be a non-empty string or an integer')
}

function roomsOf (rooms: unknown): string[] {
  if (rooms === undefined) return []
  if (Array.isArray(rooms) && rooms.every((room) => typeof room === 'string')) return rooms
  throw new InvalidTokenError('rooms must be an array of room names')
}

export function createSocketTokenVerifier (secret: string): SocketTokenVerifier {
  const options = { key: secret, algorithms: ['HS256' as const] }
  const verifyConnection = createVerifier({ ...options, requiredClaims: ['sub', 'exp'] })
  const verifyRoom = createVerifier({ ...options, requiredClaims: ['sub', 'room', 'exp'] })

  function claims (verify: (token: string) => unknown, token: unknown): Record<string, unknown> {
    if (typeof token !== 'string' || token === '') throw new InvalidTokenError('no token')
    const payload = verify(token)
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
      throw new InvalidTokenError('the token payload is not an object')
    }
    return payload as Record<string, unknown>
  }

  return {
    connection (token) {
      const payload = claims(verifyConnection, token)
      const grant: ConnectionTokenGrant = { userId: userIdOf(payload.sub), rooms: roomsOf(payload.rooms) }
      if (payload.user_info !== undefined) grant.userInfo = payload.user_info
      return grant
    },
    room (token) {
      const payload = claims(verifyRoom, token)
      if (typeof payload.room !== 'string') throw new InvalidTokenError('room must be a string')
      return { userId: userIdOf(payload.sub), room: payload.room }
    }
  }
}
