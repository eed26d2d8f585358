// On a Redis Cluster the bus is split by channel: the nodes' own messages (presence, interest,
// heartbeats…) stay on the stream `bus`, which every node reads, and each channel's events go to
// one of SHARDS streams, read only by the nodes with a socket in one of its channels. Each shard's
// stream has a hash tag of its own, picked so that the shards lie in evenly spaced slot ranges:
// they spread over the primaries as the cluster spreads its slots.
import calculateSlot from 'cluster-key-slot'

/** Shards of a Redis Cluster's bus. More spreads wider and reads fewer strangers' events, at the cost of longer offsets and more reads. */
export const CLUSTER_SHARDS = 16

const SLOTS = 16384

/** The shard of a channel's events. */
export function shardOf (channel: string, shards: number): number {
  return shards === 1 ? 0 : calculateSlot(channel) % shards
}

/** A hash tag whose slot lies in the shard's range of slots (shard `k` of `n`: `[k·16384/n, (k+1)·16384/n)`). */
export function shardTag (shard: number, shards: number): string {
  const from = Math.floor(shard * SLOTS / shards)
  const to = Math.floor((shard + 1) * SLOTS / shards)
  for (let n = 0; ; n++) {
    const tag = `s${shard}.${n}`
    const slot = calculateSlot(tag)
    if (slot >= from && slot < to) return tag
  }
}

/** The stream of a shard's events: `<prefix>bus:{<tag>}`. */
export function shardStream (prefix: string, shard: number, shards: number): string {
  return `${prefix}bus:{${shardTag(shard, shards)}}`
}
