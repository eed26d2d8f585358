// Pusher's channel authorization signature, as Laravel's `pusher` broadcaster puts it in its
// `/broadcasting/auth` answer: `auth: "<key>:<hex HMAC-SHA256(secret, socket_id:channel[:channel_data])>"`.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto'
import type { PusherApp } from '../../../config/index.ts'

/** The `auth` value Pusher's server SDKs compute for this subscription. */
export function pusherChannelAuth (app: PusherApp, socketId: string, channel: string, channelData?: string): string {
  const signed = channelData === undefined ? `${socketId}:${channel}` : `${socketId}:${channel}:${channelData}`
  return `${app.key}:${createHmac('sha256', app.secret).update(signed).digest('hex')}`
}

/** Constant-time check of an answer's `auth` (both sides hashed first, so lengths do not leak). */
export function pusherAuthMatches (app: PusherApp, presented: string, socketId: string, channel: string, channelData?: string): boolean {
  const expected = createHash('sha256').update(pusherChannelAuth(app, socketId, channel, channelData)).digest()
  return timingSafeEqual(expected, createHash('sha256').update(presented).digest())
}
