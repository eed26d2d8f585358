// The Pusher HTTP API as the load generator drives it: `POST /apps/{app_id}/events` signed
// the way Pusher's server SDKs (and so Laravel's `pusher` broadcaster) sign each request, with
// the body Laravel sends (`name`, `channels`, `data` as a JSON string).
import { createHash, createHmac, randomBytes } from 'node:crypto'

export interface PusherApp {
  appId: string
  key: string
  secret: string
}

export function newPusherApp (): PusherApp {
  return { appId: 'bench', key: 'bench-key', secret: randomBytes(32).toString('hex') }
}

/** The status an accepted publish is answered with: the Pusher API's 200, /api/sms's 202. */
export const acceptedStatus = (plan: { pusher?: PusherApp }): number => plan.pusher === undefined ? 202 : 200

/** The bridge's environment for this app. */
export function pusherEnv (app: PusherApp): Record<string, string> {
  return { BRIDGE_PUSHER_APP_ID: app.appId, BRIDGE_PUSHER_KEY: app.key, BRIDGE_PUSHER_SECRET: app.secret }
}

/**
 * The signed request path: auth_key, auth_timestamp, auth_version and body_md5 in the query,
 * and auth_signature = hex HMAC-SHA256(secret, "POST\n<path>\n<query, keys sorted>").
 */
export function signedEventsPath (app: PusherApp, body: string, nowMs = Date.now()): string {
  const path = `/apps/${app.appId}/events`
  const params: Array<[string, string]> = [
    ['auth_key', app.key],
    ['auth_timestamp', String(Math.floor(nowMs / 1000))],
    ['auth_version', '1.0'],
    ['body_md5', createHash('md5').update(body).digest('hex')]
  ]
  const query = params.sort(([a], [b]) => (a < b ? -1 : 1)).map(([key, value]) => `${key}=${value}`).join('&')
  const signature = createHmac('sha256', app.secret).update(`POST\n${path}\n${query}`).digest('hex')
  return `${path}?${query}&auth_signature=${signature}`
}

/** A trigger as Laravel's broadcaster sends it: one channel, `data` encoded as JSON. */
export function triggerBody (channel: string, eventName: string, data: unknown): string {
  return JSON.stringify({ name: eventName, channels: [channel], data: JSON.stringify(data) })
}
