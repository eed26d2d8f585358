// Publisher tokens: is an `Authorization` header one of the configured bearer tokens?
import { createHash, timingSafeEqual } from 'node:crypto'

function digest (value: string): Buffer {
  return createHash('sha256').update(value).digest()
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken (header: string | undefined): string | undefined {
  const match = header === undefined ? null : /^Bearer +(\S+) *$/i.exec(header)
  return match?.[1]
}

/**
 * A check of a presented token against every accepted one (several during a rotation).
 * Both sides are hashed first, so the comparison is constant-time and of equal length
 * whatever was sent, and every token is compared, so the time does not tell which matched.
 */
export function tokenMatcher (tokens: readonly string[]): (presented: string) => boolean {
  const accepted = tokens.map(digest)
  return (presented) => {
    const candidate = digest(presented)
    let matched = false
    for (const token of accepted) matched = timingSafeEqual(token, candidate) || matched
    return matched
  }
}
