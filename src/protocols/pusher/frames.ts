// What a Pusher-protocol client sends, read from whatever it actually sent: text JSON
// `{ event, channel?, data }`, `data` an object or a JSON string of one. Nothing here throws.

export interface ClientFrame {
  event: string
  channel?: string
  data: unknown
}

const EVENT_NAME = /^[\x21-\x7e]{1,200}$/

export function isObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** The frame, or why it is not one (sent back in `pusher:error`). */
export function readFrame (text: string): ClientFrame | { problem: string } {
  let frame: unknown
  try {
    frame = JSON.parse(text)
  } catch {
    return { problem: 'frames are JSON text: this one does not parse' }
  }
  if (!isObject(frame)) return { problem: 'a frame is a JSON object { event, channel?, data }' }
  const { event, channel } = frame
  if (typeof event !== 'string' || !EVENT_NAME.test(event)) return { problem: 'a frame needs an `event` name (1-200 visible ASCII characters)' }
  if (channel !== undefined && typeof channel !== 'string') return { problem: '`channel` must be a string' }
  let data = frame.data
  // pusher-js sends objects; other clients send the JSON string Pusher's own frames carry.
  if (typeof data === 'string' && event.startsWith('pusher:')) {
    try {
      data = JSON.parse(data)
    } catch {}
  }
  return channel === undefined ? { event, data } : { event, channel, data }
}

/** A string field of `data`, when it is one. */
export function stringField (data: unknown, name: string): string | undefined {
  if (!isObject(data)) return undefined
  const value = data[name]
  return typeof value === 'string' ? value : undefined
}
