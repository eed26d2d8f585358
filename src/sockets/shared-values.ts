// One string for each handshake header value that many connections send alike (`host`,
// `user-agent`, `sec-websocket-extensions`, …): a connection held for hours keeps its handshake's
// headers, and identical copies of them, times every connection, add up. Values that differ per
// connection (keys, cookies, tokens) are left as they are, and the table has a bound.

/** Headers whose values repeat across connections; none of them carries a credential. */
const SHARED_HEADERS = new Set([
  'host', 'connection', 'upgrade', 'origin', 'user-agent', 'accept', 'accept-encoding', 'accept-language',
  'cache-control', 'pragma', 'sec-websocket-version', 'sec-websocket-extensions', 'sec-fetch-dest',
  'sec-fetch-mode', 'sec-fetch-site', 'sec-ch-ua', 'sec-ch-ua-mobile', 'sec-ch-ua-platform', 'x-forwarded-proto'
])

export const MAX_SHARED_VALUES = 2000
export const MAX_SHARED_LENGTH = 512

const shared = new Map<string, string>()

/** The shared string with these characters: the first one seen, while the table has room. */
export function sharedValue<Value extends string | undefined> (value: Value): Value {
  if (value === undefined || value.length > MAX_SHARED_LENGTH) return value
  const found = shared.get(value)
  if (found !== undefined) return found as Value
  if (shared.size < MAX_SHARED_VALUES) shared.set(value, value)
  return value
}

/** Replaces, in place, the values of repeating headers by their shared strings (the same characters). */
export function shareHeaderValues<Headers extends Record<string, string | string[] | undefined>> (headers: Headers): Headers {
  for (const name of Object.keys(headers)) {
    const value = headers[name]
    if (typeof value === 'string' && SHARED_HEADERS.has(name)) (headers as Record<string, string>)[name] = sharedValue(value)
  }
  return headers
}

/** Query parameters every socket.io client sends alike; any other may be the client's own (a token). */
const SHARED_QUERY = /^(EIO=\d+|transport=(websocket|polling))$/

/** The shared string of a handshake URL made of the Engine.IO parameters alone; any other as it is. */
export function sharedUrl<Url extends string | undefined> (url: Url): Url {
  if (url === undefined) return url
  const query = url.indexOf('?')
  if (query !== -1 && !url.slice(query + 1).split('&').every((parameter) => SHARED_QUERY.test(parameter))) return url
  return sharedValue(url)
}

let lastHandshakeTime: string | undefined

/**
 * socket.io's handshake time (`Date#toString()`, to the second): the connections of one second
 * share one string. One string is remembered, so the table above is not filled with times.
 */
export function sharedHandshakeTime (time: string): string {
  if (time === lastHandshakeTime) return lastHandshakeTime
  lastHandshakeTime = time
  return time
}

/** How many distinct values are shared (for tests). */
export function sharedValueCount (): number {
  return shared.size
}
