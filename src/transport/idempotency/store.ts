// What de-duplication needs from a store: claim a uuid once per time window.
export interface IdempotencyStore {
  /**
   * Claims `uuid` for `ttlSeconds`. Resolves true when this call claimed it, false when it
   * was already claimed within the window (a retry: nothing may be emitted again).
   */
  claim (uuid: string, ttlSeconds: number): Promise<boolean>
  /** Claims each of `uuids` (distinct) as `claim` does, in one step: a burst costs one round trip. */
  claimAll (uuids: readonly string[], ttlSeconds: number): Promise<boolean[]>
  /** Gives a claim back, so that a publish that failed can be retried. */
  release (uuid: string): Promise<void>
  close (): Promise<void>
}
