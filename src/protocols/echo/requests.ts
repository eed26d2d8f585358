// What Echo's socket.io connector sends, read from whatever a client actually sent. Nothing
// here throws.

function isObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** A payload carrying `channel` is Echo's; any other belongs to the bridge's own protocol. */
export function isEchoRequest (payload: unknown): boolean {
  return isObject(payload) && Object.hasOwn(payload, 'channel')
}

export interface ForwardedHeaders {
  authorization?: string
  csrfToken?: string
}

export interface SubscribeRequest {
  channel: string
  headers: ForwardedHeaders
}

// A header value fetch accepts and Laravel could have meant: visible ASCII and spaces, bounded.
const HEADER_VALUE = /^[\x20-\x7e]{1,8192}$/

function headerOf (headers: Record<string, unknown>, name: string): string | undefined {
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name && typeof value === 'string' && HEADER_VALUE.test(value)) return value
  }
  return undefined
}

/** Echo's `auth.headers` reduced to the two the bridge forwards; anything else is dropped. */
export function forwardedHeaders (auth: unknown): ForwardedHeaders {
  const headers = isObject(auth) ? auth.headers : undefined
  if (!isObject(headers)) return {}
  const forwarded: ForwardedHeaders = {}
  const authorization = headerOf(headers, 'authorization')
  const csrfToken = headerOf(headers, 'x-csrf-token')
  if (authorization !== undefined) forwarded.authorization = authorization
  if (csrfToken !== undefined) forwarded.csrfToken = csrfToken
  return forwarded
}

function channelOf (payload: unknown): string | undefined {
  if (!isObject(payload)) return undefined
  return typeof payload.channel === 'string' ? payload.channel : undefined
}

export function readSubscribe (payload: unknown): SubscribeRequest | undefined {
  const channel = channelOf(payload)
  if (channel === undefined) return undefined
  return { channel, headers: forwardedHeaders((payload as Record<string, unknown>).auth) }
}

export function readUnsubscribe (payload: unknown): { channel: string } | undefined {
  const channel = channelOf(payload)
  return channel === undefined ? undefined : { channel }
}

export interface ClientEvent {
  channel: string
  event: string
  data: unknown
}

export function readClientEvent (payload: unknown): ClientEvent | { problem: 'invalid' } {
  if (!isObject(payload) || typeof payload.channel !== 'string' || typeof payload.event !== 'string') {
    return { problem: 'invalid' }
  }
  return { channel: payload.channel, event: payload.event, data: payload.data ?? null }
}
