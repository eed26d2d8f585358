// De-duplication shared by every node of a cluster: a retry that lands on another node is
// still a duplicate. One key per claim, set only if absent, expiring with the window.
import { RedisUnavailable } from '../../http/errors.ts'
import type { ClaimStore } from '../backplane.ts'
import { COMMAND_TIMEOUT_MS, type RedisClient } from './connection.ts'
import { DeadlineError, within } from './deadline.ts'

/** SET NX EX for each key, in one command: answers one character per key, `1` when claimed. */
const CLAIM_ALL = `local claimed = {}
for i, key in ipairs(KEYS) do
  claimed[i] = redis.call('SET', key, '1', 'NX', 'EX', ARGV[1]) and '1' or '0'
end
return table.concat(claimed)`

export class RedisClaimStore implements ClaimStore {
  readonly #client: RedisClient
  readonly #prefix: string

  /** `prefix` is put before each uuid to make its key. */
  constructor (client: RedisClient, prefix: string) {
    this.#client = client
    this.#prefix = prefix
  }

  async claim (uuid: string, ttlSeconds: number): Promise<boolean> {
    if (ttlSeconds <= 0) return true
    const key = this.#prefix + uuid
    const setting = this.#client.set(key, '1', { condition: 'NX', expiration: { type: 'EX', value: ttlSeconds } })
    try {
      return await within(setting, COMMAND_TIMEOUT_MS, 'claiming the uuid') === 'OK'
    } catch (error) {
      // The SET may still run later; a DEL sent after it on the same connection runs after
      // it, so the uuid is not left claimed by a publish that was refused.
      if (error instanceof DeadlineError) {
        setting.catch(() => {})
        this.#client.del(key).catch(() => {})
      }
      throw error
    }
  }

  async claimAll (uuids: readonly string[], ttlSeconds: number): Promise<boolean[]> {
    if (ttlSeconds <= 0 || uuids.length === 0) return uuids.map(() => true)
    const keys = uuids.map((uuid) => this.#prefix + uuid)
    const setting = this.#client.eval(CLAIM_ALL, { keys, arguments: [String(ttlSeconds)] })
    try {
      const claimed = String(await within(setting, COMMAND_TIMEOUT_MS, `claiming ${keys.length} uuids`))
      return keys.map((_key, index) => claimed[index] === '1')
    } catch (error) {
      // As in `claim`: what this call may still claim later is given back.
      if (error instanceof DeadlineError) {
        setting.catch(() => {})
        this.#client.del(keys).catch(() => {})
      }
      throw error
    }
  }

  async release (uuid: string): Promise<void> {
    await this.#client.del(this.#prefix + uuid)
  }

  async close (): Promise<void> {
    // The client belongs to the Redis plugin, which closes it.
  }
}

function unavailable (): Error {
  return new RedisUnavailable('Redis is unreachable (cluster mode); nothing was published, retry later')
}

/** The store, answering a 503 error (nothing was claimed) whenever Redis cannot take the claim. */
export function unavailableWithoutRedis (store: ClaimStore, ready: () => boolean): ClaimStore {
  return {
    async claim (key, ttlSeconds) {
      if (!ready()) throw unavailable()
      try {
        return await store.claim(key, ttlSeconds)
      } catch (error) {
        throw new RedisUnavailable(`could not claim the uuid in Redis (cluster mode; ${String(error)}); nothing was published, retry later`)
      }
    },
    async claimAll (keys, ttlSeconds) {
      if (!ready()) throw unavailable()
      try {
        return await store.claimAll(keys, ttlSeconds)
      } catch (error) {
        throw new RedisUnavailable(`could not claim in Redis (cluster mode; ${String(error)}); nothing was published, retry later`)
      }
    },
    release: (key) => store.release(key),
    close: () => store.close()
  }
}
