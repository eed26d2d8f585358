// Authorization without Laravel: the connection's JWT decides (tokens mode), or nothing does
// (open development mode).
import { roomMatches } from '../../../auth/room-allowed.ts'
import type { Member } from '../../../channels/member.ts'
import type { ChannelKind } from '../../../channels/names.ts'
import type { Authorization } from './laravel-authorizer.ts'

export interface TokenIdentity {
  userId?: string
  rooms?: readonly string[]
  userInfo?: unknown
}

/** The token's `rooms` claim must allow the channel's full name; a presence member is its user and `user_info`. */
export function tokenAuthorization (channel: string, kind: Exclude<ChannelKind, 'public'>, identity: TokenIdentity): Authorization {
  const { userId, rooms } = identity
  if (userId === undefined || rooms === undefined || !roomMatches(channel, rooms)) {
    return { allowed: false, status: 403, reason: 'the connection token\'s rooms claim does not allow this channel' }
  }
  if (kind === 'private') return { allowed: true }
  const member: Member = { user_id: userId, user_info: identity.userInfo ?? {} }
  return { allowed: true, member }
}

/** Open development mode: every channel allowed; each connection a guest of its own on presence channels. */
export function openAuthorization (kind: Exclude<ChannelKind, 'public'>, guestId: string): Authorization {
  return kind === 'private' ? { allowed: true } : { allowed: true, member: { user_id: guestId, user_info: {} } }
}
