// Appends to a shard's stream of a split bus (bus-shards.ts). Nobody heartbeats there, so each
// append bounds the stream itself, in one script: at most about `maxEntries` entries, none older
// than the recovery window by Redis's own clock (the new entry's id), and the key gone once a
// window passes without an append (an idle shard keeps nothing).
import type { RedisClient } from './connection.ts'
import type { Fields } from './stream-codec.ts'

/** KEYS: the stream. ARGV: entry cap, window ms, then the fields. Answers the entry's id. */
const APPEND_BOUNDED = `local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', unpack(ARGV, 3))
local ms = tonumber(string.match(id, '^(%d+)'))
redis.call('XTRIM', KEYS[1], 'MINID', '~', tostring(ms - tonumber(ARGV[2])))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return id`

export async function appendBounded (client: RedisClient, stream: string, fields: Fields, maxEntries: number, keepMs: number): Promise<string> {
  const args = [String(maxEntries), String(keepMs)]
  for (const [field, value] of Object.entries(fields)) args.push(field, value)
  return String(await client.eval(APPEND_BOUNDED, { keys: [stream], arguments: args }))
}

/**
 * KEYS: the stream. ARGV: node, window ms. Answers the id after which a new reader starts: the
 * newest entry's. An empty stream gets a mark first (a heartbeat entry, bounded like the others),
 * so that a position where reading started is an entry, and a later reader of the stream can tell
 * whether something after it was trimmed (the oldest entry left is not later).
 */
const END_OF = `local newest = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', '1')
if newest[1] then return newest[1][1] end
local id = redis.call('XADD', KEYS[1], '*', 't', 'beat', 'n', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return id`

export async function endOf (client: RedisClient, stream: string, nodeId: string, keepMs: number): Promise<string> {
  return String(await client.eval(END_OF, { keys: [stream], arguments: [nodeId, String(keepMs)] }))
}
