// `pusher:signin { auth, user_data }` (pusher-js's `signin()`, Laravel's `/broadcasting/user-auth`):
// `auth` is the app's signature over `socket_id::user::user_data`. A signed-in connection is in its
// user's `#server-to-user-<id>` channel (the Pusher API's sendToUser, terminate_connections) and
// may join presence channels without channel_data, as that user.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto'
import type { PusherApp } from '../../config/index.ts'
import { serverToUserChannel } from '../../channels/names.ts'
import { deeperThan, MAX_JSON_DEPTH } from '../../schemas/json-depth.ts'
import { isObject, stringField, type ClientFrame } from './frames.ts'
import { sendError, sendEvent, type PusherProtocolContext, type PusherSocket } from './context.ts'

const MAX_USER_DATA_BYTES = 10 * 1024
/** A user id that makes a valid channel name after `#server-to-user-`. */
const USER_ID = /^[A-Za-z0-9_\-=@,.;:]{1,128}$/

/** Constant-time check of a sign-in's `auth` (both sides hashed first, so lengths do not leak). */
export function userAuthMatches (app: PusherApp, presented: string, socketId: string, userData: string): boolean {
  const expected = `${app.key}:${createHmac('sha256', app.secret).update(`${socketId}::user::${userData}`).digest('hex')}`
  return timingSafeEqual(createHash('sha256').update(expected).digest(), createHash('sha256').update(presented).digest())
}

function userOf (userData: string): { id: string, info?: unknown } | string {
  if (userData.length > MAX_USER_DATA_BYTES) return 'user_data is larger than 10 KiB'
  let value: unknown
  try {
    value = JSON.parse(userData)
  } catch {
    return 'user_data is not JSON'
  }
  if (!isObject(value) || deeperThan(value, MAX_JSON_DEPTH)) return 'user_data is not a JSON object (at most 32 levels deep)'
  if (typeof value.id !== 'string' || !USER_ID.test(value.id)) return 'user_data needs an id: a string of 1-128 characters of A-Z a-z 0-9 _ - = @ , . ; :'
  return value.user_info === undefined ? { id: value.id } : { id: value.id, info: value.user_info }
}

export function pusherSignin (context: PusherProtocolContext) {
  const { app, channels, log } = context

  return async function onSignin (socket: PusherSocket, frame: ClientFrame): Promise<void> {
    const auth = stringField(frame.data, 'auth')
    const userData = stringField(frame.data, 'user_data')
    if (auth === undefined || userData === undefined) return sendError(context, socket, null, 'pusher:signin needs data.auth and data.user_data, strings')
    if (socket.user !== undefined) return sendError(context, socket, null, 'this connection is signed in already')
    if (!userAuthMatches(app, auth, socket.id, userData)) {
      log.debug({ socketId: socket.id }, 'Pusher sign-in refused: invalid signature')
      return sendError(context, socket, null, 'Invalid signature: auth is not the app\'s signature of this socket and user_data')
    }
    const user = userOf(userData)
    if (typeof user === 'string') return sendError(context, socket, null, user)
    socket.user = user
    socket.userId = user.id
    // Answered once the user's channel reaches this node: what Laravel sends the user after it is delivered.
    await channels.join(socket, serverToUserChannel(user.id))
    // pusher-js drops a sign-in whose answer does not carry the user_data it sent.
    sendEvent(context, socket, 'pusher:signin_success', undefined, { user_data: userData })
  }
}
