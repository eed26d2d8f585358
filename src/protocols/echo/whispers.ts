// Whispers (Echo's client events): which ones the bridge relays to a channel's other sockets.
import { channelKind, validChannelName } from '../../channels/names.ts'
import { deeperThan, MAX_JSON_DEPTH } from '../../schemas/json-depth.ts'
import type { ClientEvent } from './requests.ts'

const MAX_WHISPER_BYTES = 10 * 1024
const MAX_WHISPER_DEPTH = MAX_JSON_DEPTH

const WHISPER_EVENT = /^client-[\x21-\x7e]{1,192}$/

/** The `reason` label of bridge_whispers_dropped_total. */
export type WhisperDrop = 'disabled' | 'invalid' | 'not_client_event' | 'not_private' | 'not_authorized' | 'too_large' | 'too_deep' | 'rate_limited' | 'unavailable'

export function isWhisperEvent (event: string): event is `client-${string}` {
  return WHISPER_EVENT.test(event)
}

/** Why this whisper must not be relayed (the socket's authorization and rate are the caller's). */
export function whisperProblem ({ channel, event, data }: ClientEvent): WhisperDrop | undefined {
  if (!isWhisperEvent(event)) return 'not_client_event'
  if (!validChannelName(channel) || channelKind(channel) === 'public') return 'not_private'
  if (deeperThan(data, MAX_WHISPER_DEPTH)) return 'too_deep'
  if (Buffer.byteLength(JSON.stringify(data) ?? 'null') > MAX_WHISPER_BYTES) return 'too_large'
  return undefined
}
