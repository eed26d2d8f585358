// Credentials the benchmark runs the bridge with: a publisher token and socket JWTs.
import { createHmac, randomBytes } from 'node:crypto'

export interface Credentials {
  apiToken: string
  jwtSecret: string
}

export function newCredentials (): Credentials {
  return {
    apiToken: randomBytes(24).toString('base64url'),
    jwtSecret: randomBytes(32).toString('base64url')
  }
}

function base64url (value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}

/**
 * An HS256 JWT such as Laravel would issue to a logged-in user, valid for an hour; `extra`
 * adds claims (a presence member's `user_info`).
 */
export function socketToken (secret: string, sub: string, rooms: string[], extra: Record<string, unknown> = {}): string {
  const header = base64url({ alg: 'HS256', typ: 'JWT' })
  const claims = base64url({ ...extra, sub, rooms, exp: Math.floor(Date.now() / 1000) + 3600 })
  const signature = createHmac('sha256', secret).update(`${header}.${claims}`).digest('base64url')
  return `${header}.${claims}.${signature}`
}
