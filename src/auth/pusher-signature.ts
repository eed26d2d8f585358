// Pusher's request signing, as its server SDKs (and so Laravel's `pusher` broadcaster) sign:
// the query carries auth_key, auth_timestamp, auth_version=1.0, body_md5 (with a body) and
// auth_signature = hex HMAC-SHA256(secret, METHOD + "\n" + path + "\n" + the other query
// parameters, keys sorted, "k=v" joined by "&").
import { createHash, createHmac, timingSafeEqual } from 'node:crypto'

const PUSHER_TIMESTAMP_WINDOW_SECONDS = 600

function stringToSign (method: string, path: string, params: ReadonlyMap<string, string>): string {
  const query = [...params].filter(([key]) => key !== 'auth_signature')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`)
    .join('&')
  return `${method.toUpperCase()}\n${path}\n${query}`
}

function pusherSignatureOf (secret: string, method: string, path: string, params: ReadonlyMap<string, string>): string {
  return createHmac('sha256', secret).update(stringToSign(method, path, params)).digest('hex')
}

function md5Hex (body: Buffer | string): string {
  return createHash('md5').update(body).digest('hex')
}

function sameText (expected: string, presented: string): boolean {
  const a = createHash('sha256').update(expected).digest()
  const b = createHash('sha256').update(presented).digest()
  return timingSafeEqual(a, b)
}

/**
 * The query's parameters, decoded, or why it cannot be signed unambiguously: a key given twice, or
 * an `&` or `=` that only decoding made appear. Split as sent, so each parameter signed is one read.
 */
export function queryParams (url: string): Map<string, string> | string {
  const start = url.indexOf('?')
  const params = new Map<string, string>()
  if (start === -1) return params
  for (const pair of url.slice(start + 1).split('&')) {
    if (pair === '') continue
    const [[key, value] = ['', '']] = new URLSearchParams(pair)
    if (key.includes('&') || key.includes('=') || value.includes('&')) {
      return `query parameter ${key} holds an encoded & or =: its signature would also stand for other parameters`
    }
    if (params.has(key)) return `query parameter ${key} is given more than once`
    params.set(key, value)
  }
  return params
}

export interface PusherCredentials {
  key: string
  secret: string
}

/** Why a request is not signed by this app (key, version, timestamp, signature over method, path, query). */
export function signatureProblem (
  app: PusherCredentials,
  request: { method: string, path: string, params: ReadonlyMap<string, string> },
  nowSeconds: number
): string | undefined {
  const { params } = request
  const key = params.get('auth_key')
  const timestamp = params.get('auth_timestamp')
  const version = params.get('auth_version')
  const signature = params.get('auth_signature')
  if (key === undefined || timestamp === undefined || signature === undefined) {
    return 'auth_key, auth_timestamp and auth_signature query parameters are required'
  }
  if (version !== undefined && version !== '1.0') return 'auth_version must be 1.0'
  if (!sameText(app.key, key)) return 'Invalid auth_key'
  if (!/^\d{1,12}$/.test(timestamp) || Math.abs(nowSeconds - Number(timestamp)) > PUSHER_TIMESTAMP_WINDOW_SECONDS) {
    return `Timestamp expired: auth_timestamp must be within ${PUSHER_TIMESTAMP_WINDOW_SECONDS} s of the server's clock`
  }
  const expected = pusherSignatureOf(app.secret, request.method, request.path, params)
  if (!sameText(expected, signature.toLowerCase())) {
    return 'Invalid signature: you should have sent HmacSHA256Hex(' +
      JSON.stringify(stringToSign(request.method, request.path, params)) + ', your_secret_key)'
  }
  return undefined
}

export function bodyProblem (params: ReadonlyMap<string, string>, body: Buffer | string): string | undefined {
  const presented = params.get('body_md5')
  if (presented === undefined) return 'body_md5 query parameter is required with a body'
  if (!sameText(md5Hex(body), presented.toLowerCase())) return 'body_md5 does not match the body'
  return undefined
}

/** For log lines: a signature is good for a replay within its window. */
export function withoutSignature (url: string): string {
  if (!url.includes('auth_signature=')) return url
  return url.replace(/([?&]auth_signature=)[^&]*/i, '$1[redacted]')
}
