// Claim and append as one Redis operation: a script sets each event's claim key if absent and
// appends the events it claimed to the stream, so a claim exists only for an event the stream
// holds, whatever happens to the node that sent it (docs/recovery.md). Keys of one script must
// share a slot on Redis Cluster; this is the one-Redis (and Sentinel) form.
import type { EncodedEvent } from '../../channels/delivery.ts'
import type { PublishClaims } from '../backplane.ts'
import type { SequenceFields } from './append-sequence.ts'
import type { RedisClient } from './connection.ts'
import { eventHeader } from './stream-codec.ts'

/**
 * KEYS: the stream, then the claim keys. ARGV: node, entry cap, claim seconds, guard seconds
 * (empty: no guard, else KEYS[2] is it), the event count, the entry's number, then its `s` and
 * `v` fields (empty: none; append-sequence.ts), then per event its claim key's index
 * in KEYS (0: none), its header and its payload. Answers one character per event, `1` when
 * appended. The entry is what `encode` writes for the events appended.
 */
const CLAIM_AND_APPEND = `local count = tonumber(ARGV[5])
if ARGV[4] ~= '' and not redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[4]) then
  return string.rep('0', count)
end
local appended, headers, fields = {}, {}, {'t', 'events', 'n', ARGV[1], 'm', '', 'q', ARGV[6]}
for at, name in pairs({[7] = 's', [8] = 'v'}) do
  if ARGV[at] ~= '' then
    fields[#fields + 1] = name
    fields[#fields + 1] = ARGV[at]
  end
end
for i = 1, count do
  local at = 8 + (i - 1) * 3
  local key = tonumber(ARGV[at + 1])
  if key == 0 or redis.call('SET', KEYS[key], '1', 'NX', 'EX', ARGV[3]) then
    appended[i] = '1'
    fields[#fields + 1] = 'p' .. #headers
    fields[#fields + 1] = ARGV[at + 3]
    headers[#headers + 1] = ARGV[at + 2]
  else
    appended[i] = '0'
  end
end
if #headers > 0 then
  fields[6] = '[' .. table.concat(headers, ',') .. ']'
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', unpack(fields))
end
return table.concat(appended)`

export interface ClaimedAppend {
  client: RedisClient
  stream: string
  nodeId: string
  maxEntries: number
}

/** Sends the script; answers which events were appended (each claimed, or with nothing to claim). */
export async function claimAndAppend ({ client, stream, nodeId, maxEntries }: ClaimedAppend, events: readonly EncodedEvent[], { keys, ttlSeconds, guard }: PublishClaims, sequence: SequenceFields): Promise<boolean[]> {
  const redisKeys = [stream]
  if (guard !== undefined) redisKeys.push(guard.key)
  const args = [nodeId, String(maxEntries), String(ttlSeconds), guard === undefined ? '' : String(guard.ttlSeconds), String(events.length), sequence.q, sequence.s ?? '', sequence.v ?? '']
  events.forEach((event, index) => {
    const key = keys[index]
    if (key === undefined) {
      args.push('0')
    } else {
      redisKeys.push(key)
      args.push(String(redisKeys.length))
    }
    args.push(eventHeader(event), event.payloadJson)
  })
  const appended = String(await client.eval(CLAIM_AND_APPEND, { keys: redisKeys, arguments: args }))
  return events.map((_event, index) => appended[index] === '1')
}
