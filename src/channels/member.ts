// A presence member as Laravel describes it (`channel_data`): `{ user_id, user_info? }`, its
// schema PresenceMember (src/schemas/echo.ts). User ids compare as strings ("1" and 1 are one
// user); a member never carries a socket id.
import type { Static } from 'typebox'
import type { PresenceMember } from '../schemas/echo.ts'

export type Member = Static<typeof PresenceMember>

/** The user a member is, as presence keys it. */
export function userKey (member: Member): string {
  return String(member.user_id)
}
