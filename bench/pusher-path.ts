// The Pusher HTTP API as the load generator drives it: `POST /apps/{app_id}/events` signed
// by Pusher's official Node server SDK (which signs as the PHP SDK under Laravel's `pusher`
// broadcaster does), with the body Laravel sends (`name`, `channels`, `data` as a JSON string).
import { randomBytes } from 'node:crypto'
import Pusher from 'pusher'

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
 * Signs requests as the SDK's `trigger()` does: auth_key, auth_timestamp, auth_version and
 * body_md5 in the query, auth_signature = hex HMAC-SHA256(secret, "POST\n<path>\n<sorted query>").
 */
export function eventsSigner (app: PusherApp): (body: string) => string {
  // The SDK wants a host; it is not contacted, only its signing is used.
  const sdk = new Pusher({ appId: app.appId, key: app.key, secret: app.secret, host: '127.0.0.1' })
  const path = `/apps/${app.appId}/events`
  return (body) => `${path}?${sdk.createSignedQueryString({ method: 'POST', path, body })}`
}

/** A trigger as Laravel's broadcaster sends it: one channel, `data` encoded as JSON. */
export function triggerBody (channel: string, eventName: string, data: unknown): string {
  return JSON.stringify({ name: eventName, channels: [channel], data: JSON.stringify(data) })
}
