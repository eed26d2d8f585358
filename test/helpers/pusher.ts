// The Pusher side of the tests: a bridge with a Pusher app, the official Node server SDK
// pointed at it, and requests signed by hand (the SDK refuses to send bad ones).
import { createHash, createHmac } from 'node:crypto'
import Pusher from 'pusher'
import type { Env } from '../../src/config/index.ts'

export const pusherApp = {
  appId: 'bridge-app',
  key: 'bridge-key',
  secret: 'bridge-pusher-secret-0123456789abcdef0123456789'
}

/** Environment of a bridge serving the Pusher HTTP API for `pusherApp`. */
export function pusherEnv (overrides: Env = {}): Env {
  return {
    BRIDGE_PUSHER_APP_ID: pusherApp.appId,
    BRIDGE_PUSHER_KEY: pusherApp.key,
    BRIDGE_PUSHER_SECRET: pusherApp.secret,
    ...overrides
  }
}

/** The official SDK, configured as Laravel's `pusher` connection would be for a bridge at `url`. */
export function pusherClient (url: string, app: { appId: string, key: string, secret: string } = pusherApp): Pusher {
  const { hostname, port } = new URL(url)
  return new Pusher({ appId: app.appId, key: app.key, secret: app.secret, host: hostname, port, useTLS: false })
}

export interface Signing {
  appId?: string
  key?: string
  secret?: string
  /** Unix seconds; now when absent. */
  timestamp?: number
  /** The body_md5 to sign; the body's own when absent; `null` leaves it out. */
  bodyMd5?: string | null
}

/**
 * The URL of a request signed as Pusher documents it, written here independently of the
 * bridge's code: METHOD, path and the sorted query, HMAC-SHA256 with the secret.
 */
export function signedPath (method: string, path: string, body: string | undefined, signing: Signing = {}, extra: Record<string, string> = {}): string {
  const fullPath = `/apps/${signing.appId ?? pusherApp.appId}${path}`
  const params: Record<string, string> = {
    auth_key: signing.key ?? pusherApp.key,
    auth_timestamp: String(signing.timestamp ?? Math.floor(Date.now() / 1000)),
    auth_version: '1.0',
    ...extra
  }
  const md5 = signing.bodyMd5 === undefined
    ? (body === undefined ? undefined : createHash('md5').update(body).digest('hex'))
    : signing.bodyMd5 ?? undefined
  if (md5 !== undefined) params.body_md5 = md5
  const query = Object.keys(params).sort().map((key) => `${key}=${params[key]}`).join('&')
  const signature = createHmac('sha256', signing.secret ?? pusherApp.secret).update(`${method}\n${fullPath}\n${query}`).digest('hex')
  return `${fullPath}?${query}&auth_signature=${signature}`
}

/** POSTs `body` (a string, sent as is) to a Pusher route with a hand-made signature. */
export async function signedPost (url: string, path: string, body: string, signing: Signing = {}, contentType = 'application/json') {
  const response = await fetch(`${url}${signedPath('POST', path, body, signing)}`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body
  })
  const text = await response.text()
  return { status: response.status, text, body: parseOrText(text) }
}

/** GETs a Pusher route with a hand-made signature. */
export async function signedGet (url: string, path: string, params: Record<string, string> = {}, signing: Signing = {}) {
  const response = await fetch(`${url}${signedPath('GET', path, undefined, signing, params)}`)
  const text = await response.text()
  return { status: response.status, text, body: parseOrText(text) }
}

function parseOrText (text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return text
  }
}
