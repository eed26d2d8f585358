// Claims on a Redis Cluster: the keys of one batch lie in different slots, which one script
// cannot touch together, so each key is claimed by its own SET NX, all sent at once. A key
// named twice in a batch is claimed by its first mention: both go, in order, to the one
// primary that owns its slot. Publishes claim in two phases (../pending-claims.ts): a key is
// pending until its event is handed on, then confirmed.
import { RedisUnavailable } from '../../http/errors.ts'
import type { ClaimStore } from '../backplane.ts'
import type { PendingClaim, PendingClaimStore } from '../pending-claims.ts'
import { COMMAND_TIMEOUT_MS, type RedisClient } from './connection.ts'
import { DeadlineError, within } from './deadline.ts'

export function claimsAcrossSlots (store: ClaimStore): ClaimStore {
  return {
    claim: (key, ttlSeconds) => store.claim(key, ttlSeconds),
    claimAll: (keys, ttlSeconds) => Promise.all(keys.map((key) => store.claim(key, ttlSeconds))),
    release: (key) => store.release(key),
    close: () => store.close()
  }
}

/** The value of a confirmed claim (as one-step claims write it) and of a pending one. */
const CONFIRMED = '1'
const PENDING = 'pending'

/** One key, so one slot: sets it pending if absent (answers ''), else answers its seconds left when pending, or 'done'. */
const CLAIM_PENDING = `local held = redis.call('GET', KEYS[1])
if not held then
  redis.call('SET', KEYS[1], '${PENDING}', 'EX', ARGV[1])
  return ''
end
if held == '${PENDING}' then return redis.call('TTL', KEYS[1]) end
return 'done'`

/** Sets a pending key to expire in ARGV[1] seconds; leaves a confirmed (or absent) one alone. */
const RENEW_PENDING = `if redis.call('GET', KEYS[1]) == '${PENDING}' then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return ''`

/** Pending and confirmed claims as keys under `prefix`; a 503 (nothing claimed) whenever Redis cannot take them. */
export function pendingClaimsInRedis (client: RedisClient, prefix: string, ready: () => boolean): PendingClaimStore {
  return {
    async claimPending (key, seconds): Promise<PendingClaim> {
      if (!ready()) throw new RedisUnavailable('Redis is unreachable (cluster mode); nothing was published, retry later')
      const redisKey = prefix + key
      const setting = client.eval(CLAIM_PENDING, { keys: [redisKey], arguments: [String(seconds)] })
      let found: unknown
      try {
        found = await within(setting, COMMAND_TIMEOUT_MS, 'claiming the uuid')
      } catch (error) {
        // The script may still run later; a DEL sent after it on the same connection runs after it.
        if (error instanceof DeadlineError) {
          setting.catch(() => {})
          client.del(redisKey).catch(() => {})
        }
        throw new RedisUnavailable(`could not claim the uuid in Redis (cluster mode; ${String(error)}); nothing was published, retry later`)
      }
      if (found === '') return { state: 'claimed' }
      if (typeof found === 'number') return { state: 'pending', seconds: Math.max(1, found) }
      return { state: 'done' }
    },
    async confirm (key, ttlSeconds) {
      await within(client.set(prefix + key, CONFIRMED, { expiration: { type: 'EX', value: ttlSeconds } }), COMMAND_TIMEOUT_MS, 'confirming the claim')
    },
    async renew (key, seconds) {
      await within(client.eval(RENEW_PENDING, { keys: [prefix + key], arguments: [String(seconds)] }), COMMAND_TIMEOUT_MS, 'renewing the claim')
    },
    async release (key) {
      await client.del(prefix + key)
    }
  }
}
