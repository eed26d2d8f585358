// `pusher:subscribe { channel, auth?, channel_data? }`: public channels at once; private ones
// (`private-encrypted-…` too, relayed as they are) with `auth` signed by the app secret over
// `socket_id:channel`; presence ones over `socket_id:channel:channel_data`, the member from
// `channel_data`. pusher-js got `auth` from Laravel's `/broadcasting/auth`: the bridge only checks it.
import type { Member } from '../../channels/member.ts'
import { channelKind, isServerToUserChannel, serverToUserChannel, validChannelName } from '../../channels/names.ts'
import { deeperThan, MAX_JSON_DEPTH } from '../../schemas/json-depth.ts'
import { pusherAuthMatches } from '../echo/authorization/channel-auth-signature.ts'
import { isObject, stringField, type ClientFrame } from './frames.ts'
import { sendError, sendEvent, type PusherProtocolContext, type PusherSocket } from './context.ts'

const MAX_CHANNEL_DATA_BYTES = 10 * 1024

interface Refusal {
  type: 'AuthError' | 'LimitReached' | 'InvalidChannel'
  status: number
  error: string
}

/** The member `channel_data` describes: a JSON string of `{ user_id, user_info? }`. */
function memberOf (channelData: string): Member | string {
  if (channelData.length > MAX_CHANNEL_DATA_BYTES) return 'channel_data is larger than 10 KiB'
  let value: unknown
  try {
    value = JSON.parse(channelData)
  } catch {
    return 'channel_data is not JSON'
  }
  if (!isObject(value) || deeperThan(value, MAX_JSON_DEPTH)) return 'channel_data is not a JSON object (at most 32 levels deep)'
  const { user_id: userId, user_info: userInfo } = value
  const validId = (typeof userId === 'string' && userId.length > 0 && userId.length <= 128) || (typeof userId === 'number' && Number.isFinite(userId))
  if (!validId) return 'channel_data needs a user_id (a string of 1-128 characters or a number)'
  return userInfo === undefined ? { user_id: userId } : { user_id: userId, user_info: userInfo }
}

/** `subscription_succeeded` of a presence channel: one entry per user, as pusher-js counts them. */
function presenceData (members: readonly Member[]) {
  const hash: Record<string, unknown> = {}
  for (const member of members) hash[String(member.user_id)] = member.user_info ?? null
  const ids = Object.keys(hash)
  return { presence: { ids, hash, count: ids.length } }
}

export function pusherSubscribe (context: PusherProtocolContext) {
  const { channels, app, maxRoomsPerSocket, metrics, log } = context

  function refuse (socket: PusherSocket, channel: string, { type, status, error }: Refusal): void {
    metrics.refusals.inc({ reason: type })
    log.debug({ socketId: socket.id, channel, status, reason: error }, 'Pusher subscription refused')
    sendEvent(context, socket, 'pusher:subscription_error', channel, { type, error, status })
  }

  function succeeded (socket: PusherSocket, channel: string, data: unknown = {}): void {
    sendEvent(context, socket, 'pusher_internal:subscription_succeeded', channel, data)
  }

  /** Answered once the channel's events reach this node: what is published after the answer is delivered. */
  async function joined (socket: PusherSocket, channel: string): Promise<void> {
    await channels.join(socket, channel)
    // Unsubscribed or gone meanwhile: nothing to answer.
    if (channels.isSubscribed(socket, channel)) succeeded(socket, channel)
  }

  async function joinPresence (socket: PusherSocket, channel: string, member: Member): Promise<void> {
    socket.members.set(channel, member)
    socket.userId = String(member.user_id)
    const members = await channels.joinPresence(socket, channel, member)
    // Unsubscribed or gone while the cluster caught up: nothing to answer.
    if (!channels.isSubscribed(socket, channel)) return
    succeeded(socket, channel, presenceData(members))
  }

  return function onSubscribe (socket: PusherSocket, frame: ClientFrame): Promise<void> | void {
    const channel = stringField(frame.data, 'channel')
    if (channel === undefined) return sendError(context, socket, null, 'pusher:subscribe needs data.channel, a string')
    if (!socket.subscribes.take()) {
      return refuse(socket, channel, { type: 'LimitReached', status: 429, error: 'more subscribe/unsubscribe calls than BRIDGE_MAX_SUBSCRIBES_PER_SECOND' })
    }
    // pusher-js asks for it after a sign-in, with an empty auth: the sign-in put the connection there.
    if (isServerToUserChannel(channel)) {
      if (socket.user !== undefined && channel === serverToUserChannel(socket.user.id)) return succeeded(socket, channel)
      return refuse(socket, channel, { type: 'AuthError', status: 401, error: 'only the signed-in user\'s own connections are in its #server-to-user- channel' })
    }
    if (!validChannelName(channel)) {
      return refuse(socket, channel, { type: 'InvalidChannel', status: 401, error: 'channel names are 1-164 characters of A-Z a-z 0-9 _ - = @ , . ; :' })
    }
    const kind = channelKind(channel)
    const member = socket.members.get(channel)
    // Asked again (a client's retry): the same answer, nothing joined twice.
    if (channels.isSubscribed(socket, channel) && (kind !== 'presence' || member !== undefined)) {
      return member === undefined ? succeeded(socket, channel) : joinPresence(socket, channel, member)
    }
    if (channels.subscriptionCount(socket) >= maxRoomsPerSocket) {
      return refuse(socket, channel, { type: 'LimitReached', status: 403, error: `a connection may be in at most ${maxRoomsPerSocket} channels (BRIDGE_MAX_ROOMS_PER_SOCKET)` })
    }
    if (kind === 'public') {
      metrics.subscriptions.inc({ kind })
      return joined(socket, channel)
    }
    const auth = stringField(frame.data, 'auth') ?? ''
    const channelData = kind === 'presence' ? stringField(frame.data, 'channel_data') : undefined
    if (kind === 'presence' && channelData === undefined && socket.user === undefined) {
      return refuse(socket, channel, { type: 'AuthError', status: 401, error: 'presence channels need channel_data (or a signed-in connection)' })
    }
    if (!pusherAuthMatches(app, auth, socket.id, channel, channelData)) {
      return refuse(socket, channel, { type: 'AuthError', status: 401, error: 'invalid signature: auth is not the app\'s signature of this socket and channel' })
    }
    metrics.subscriptions.inc({ kind })
    if (kind === 'presence' && channelData === undefined && socket.user !== undefined) {
      // As Pusher does: the signed-in user is the member.
      const { id, info } = socket.user
      return joinPresence(socket, channel, info === undefined ? { user_id: id } : { user_id: id, user_info: info })
    }
    if (channelData === undefined) return joined(socket, channel)
    const presenceMember = memberOf(channelData)
    if (typeof presenceMember === 'string') return refuse(socket, channel, { type: 'AuthError', status: 401, error: presenceMember })
    return joinPresence(socket, channel, presenceMember)
  }
}
