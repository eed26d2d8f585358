// Who is in a channel: this node's answer (sockets of every subscription kind and protocol, and
// the users behind them), and the cluster's, summed from every node's answer.
import type { Answer } from '../backplane/backplane.ts'
import type { BridgeServer, BridgeSocket } from '../schemas/socket.ts'
import { internalRoom, KINDS, subscriptionOf } from './rooms.ts'

/** Who is in a channel: sockets, and the distinct users behind them. */
export interface ChannelCount {
  subscribers: number
  users: number
}

/** A channel with subscribers, and how many. */
export interface ChannelListing {
  name: string
  subscribers: number
}

/**
 * The user behind a socket, the same on every read path: its presence member in this channel
 * (what the Pusher API's user_count counts), else the connection JWT's `sub`, else the user Laravel
 * made it a presence member as elsewhere (Laravel's answer for a private channel names nobody).
 */
export function userOf (socket: BridgeSocket, channel: string): string | undefined {
  const { presence, userId } = socket.data
  const member = presence?.[channel]
  if (member !== undefined) return String(member.user_id)
  if (userId !== undefined) return userId
  const elsewhere = presence === undefined ? undefined : Object.values(presence)[0]
  return elsewhere === undefined ? undefined : String(elsewhere.user_id)
}

/** Subscribers outside socket.io's rooms (the Pusher protocol's registry). */
export interface OtherSubscribers {
  subscribers: (channel: string) => ReadonlySet<string> | undefined
  channels: () => Iterable<[string, ReadonlySet<string>]>
  userOf: (id: string) => string | undefined
}

export function createCounts (io: BridgeServer, other: OtherSubscribers) {
  const nsp = io.of('/')

  /** socket.io's rooms of subscriptions, then the other protocol's channels. */
  function * subscribed (): Iterable<[string, ReadonlySet<string>]> {
    for (const [room, members] of nsp.adapter.rooms) {
      const name = subscriptionOf(room)?.channel
      if (name !== undefined) yield [name, members]
    }
    yield * other.channels()
  }

  return {
    /** Sockets subscribed to `name` (either kind: room R counts as `private-R`) on this node, and their users. */
    local (name: string): { subscribers: number, users: string[] } {
      const ids = new Set<string>()
      for (const kind of KINDS) for (const id of nsp.adapter.rooms.get(internalRoom(kind, name)) ?? []) ids.add(id)
      for (const id of other.subscribers(name) ?? []) ids.add(id)
      const users = new Set<string>()
      for (const id of ids) {
        const socket = nsp.sockets.get(id)
        const userId = socket === undefined ? other.userOf(id) : userOf(socket, name)
        if (userId !== undefined) users.add(userId)
      }
      return { subscribers: ids.size, users: [...users] }
    },

    /** Channels with a subscriber on this node whose name starts with `prefix`, and how many. */
    localChannels (prefix: string): Array<[string, number]> {
      const counts = new Map<string, Set<string>>()
      for (const [name, members] of subscribed()) {
        if (!name.startsWith(prefix)) continue
        const ids = counts.get(name) ?? new Set()
        for (const id of members) ids.add(id)
        counts.set(name, ids)
      }
      return [...counts].map(([name, ids]) => [name, ids.size])
    },

    /** Subscriptions (socket, channel pairs) and channels with a subscriber, on this node. */
    localSubscriptions (): { subscriptions: number, channels: number } {
      let subscriptions = 0
      let channels = 0
      for (const [, members] of subscribed()) {
        channels += 1
        subscriptions += members.size
      }
      return { subscriptions, channels }
    }
  }
}

/** Every node's count of a channel, summed (a user on two nodes counts once). */
export function totalCount (answers: readonly Answer[]): ChannelCount {
  let subscribers = 0
  const users = new Set<string>()
  for (const answer of answers) {
    if (answer.type !== 'count') continue
    subscribers += answer.subscribers
    for (const user of answer.users) users.add(user)
  }
  return { subscribers, users: users.size }
}

/** Every node's channels, summed per channel. */
export function totalListing (answers: readonly Answer[]): ChannelListing[] {
  const totals = new Map<string, number>()
  for (const answer of answers) {
    if (answer.type !== 'channels') continue
    for (const [name, subscribers] of answer.channels) totals.set(name, (totals.get(name) ?? 0) + subscribers)
  }
  return [...totals].map(([name, subscribers]) => ({ name, subscribers }))
}
