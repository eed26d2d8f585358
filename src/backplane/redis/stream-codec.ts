// How messages are written into the cluster's Redis stream and pub/sub channels, and read back.
import type { EncodedEvent } from '../../channels/delivery.ts'
import type { BusMessage } from '../backplane.ts'
import type { Clock, Position } from '../positions.ts'

export type StreamMessage =
  | BusMessage
    /** `lost`: sent after Redis came back (a restart, a failover): entries before it may be gone. */
  | { type: 'hello', lost?: true }
  | { type: 'dead', node: string }

export type Fields = Record<string, string>

/** One event's entry in the `m` list of an events entry (a JSON array). */
export function eventHeader ({ channel, event, except, only, ephemeral }: EncodedEvent): string {
  return JSON.stringify([channel, event, except ?? '', only ?? '', ephemeral === true ? 1 : 0])
}

/** Fields: `t` type, `n` node, `m` the body; events add `p0…` payloads. */
export function encode (node: string, message: StreamMessage): Fields {
  if (message.type === 'events') {
    const fields: Fields = {
      t: 'events',
      n: node,
      m: `[${message.events.map(eventHeader).join(',')}]`
    }
    // Payloads go as they are: JSON text, not escaped into another JSON document.
    message.events.forEach(({ payloadJson }, index) => { fields[`p${index}`] = payloadJson })
    return fields
  }
  const { type, ...body } = message
  return { t: type, n: node, m: JSON.stringify(body) }
}

export function decode (fields: Fields): StreamMessage | undefined {
  const { t: type, m: body } = fields
  if (body === undefined) return undefined
  if (type === 'events') {
    const headers = JSON.parse(body) as Array<[string, string, string, string, number]>
    const events = headers.map(([channel, event, except, only, ephemeral], index): EncodedEvent => ({
      channel,
      event,
      payloadJson: fields[`p${index}`] ?? 'null',
      ...(except !== '' && { except }),
      ...((only === 'room' || only === 'echo') && { only }),
      ...(ephemeral === 1 && { ephemeral: true })
    }))
    return { type: 'events', events }
  }
  if (type === 'interest' || type === 'presence' || type === 'occupancy' || type === 'client-events' || type === 'snapshot' || type === 'hello' || type === 'dead') {
    return { type, ...JSON.parse(body) } as StreamMessage
  }
  return undefined
}

/** A line of headers, then each payload on its own line (JSON.stringify writes no raw line break). */
export function encodeEphemeral (events: readonly EncodedEvent[]): string {
  const headers = JSON.stringify(events.map(({ channel, event, except, only, userId }) => [channel, event, except ?? '', only ?? '', userId ?? '']))
  return [headers, ...events.map(({ payloadJson }) => payloadJson)].join('\n')
}

export function decodeEphemeral (message: string): EncodedEvent[] {
  const [headers = '[]', ...payloads] = message.split('\n')
  return (JSON.parse(headers) as Array<[string, string, string, string, string?]>).map(([channel, event, except, only, userId], index) => ({
    channel,
    event,
    payloadJson: payloads[index] ?? 'null',
    ...(except !== '' && { except }),
    ...((only === 'room' || only === 'echo') && { only }),
    ...(typeof userId === 'string' && userId !== '' && { userId }),
    ephemeral: true
  }))
}

export function positionOf (id: string): Position {
  const [ms, seq] = id.split('-')
  return [Number(ms), Number(seq), 0]
}

/** A position as a client keeps it: `ms-seq.index`. */
export function formatPosition ([ms, seq, index]: Position): string {
  return `${ms}-${seq}.${index}`
}

export function parsePosition (offset: string): Position | undefined {
  const match = /^(\d{1,15})-(\d{1,15})\.(\d{1,4})$/.exec(offset)
  return match === null ? undefined : [Number(match[1]), Number(match[2]), Number(match[3])]
}

/**
 * A clock of a split bus as a client keeps it: `shard:ms-seq.index` for its first shard, then
 * `,shard:±ms-seq.index` with each other shard's time relative to the first, to keep it short
 * (the shards' streams are written at about the same time). Empty: `0:0-0.0`, START.
 */
export function formatClock (clock: Clock): string {
  const entries = [...clock].sort(([a], [b]) => a - b)
  const [first] = entries
  if (first === undefined) return '0:0-0.0'
  const base = first[1][0]
  return entries.map(([shard, [ms, seq, index]], i) => {
    const time = i === 0 ? String(ms) : ms >= base ? `+${ms - base}` : `-${base - ms}`
    return `${shard}:${time}-${seq}.${index}`
  }).join(',')
}

export function parseClock (offset: string, shards: number): Clock | undefined {
  const parts = offset.split(',')
  if (parts.length > shards) return undefined
  const clock = new Map<number, Position>()
  let base = 0
  for (const [i, part] of parts.entries()) {
    const match = (i === 0 ? /^(\d{1,4}):(\d{1,15})-(\d{1,15})\.(\d{1,4})$/ : /^(\d{1,4}):([+-]\d{1,15})-(\d{1,15})\.(\d{1,4})$/).exec(part)
    if (match === null) return undefined
    const shard = Number(match[1])
    if (shard >= shards || clock.has(shard)) return undefined
    const time = Number(match[2])
    if (i === 0) base = time
    clock.set(shard, [i === 0 ? time : base + time, Number(match[3]), Number(match[4])])
  }
  return clock
}
