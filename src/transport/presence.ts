// Presence channels: who is in a channel, one member per user however many sockets (tabs,
// devices, nodes) they have there. Each node knows its own sockets; it tells the others over
// the bus when a user's first socket on it joins a channel and when their last one leaves,
// and every node applies those changes in the same order. A user is a member while some node
// has a socket of theirs there: `presence:joining` goes out when the first node gains them,
// `presence:leaving` when the last one loses them (or dies). Members never carry socket ids.

/** A presence member as Laravel describes it (`channel_data`); user ids compare as strings. */
export interface Member {
  user_id: string | number
  user_info?: unknown
}

export type PresenceChange = [channel: string, user: string, member: Member | null]

/** Sends `event` for `member` to the channel's Echo subscribers on this node, except `except`. */
export type Announce = (channel: string, event: 'presence:joining' | 'presence:leaving', member: Member, except: ReadonlySet<string>) => void

function userKey (member: Member): string {
  return String(member.user_id)
}

const nobody: ReadonlySet<string> = new Set()

export function createPresence (send: (changes: PresenceChange[]) => void, announce: Announce) {
  /** channel → user → this node's sockets of the user there. */
  const local = new Map<string, Map<string, { member: Member, sockets: Set<string> }>>()
  /** channel → user → the member and the nodes where the user has a socket there. */
  const everywhere = new Map<string, Map<string, { member: Member, nodes: Set<string> }>>()

  function gain (channel: string, user: string, member: Member, node: string): void {
    let users = everywhere.get(channel)
    if (users === undefined) {
      users = new Map()
      everywhere.set(channel, users)
    }
    const present = users.get(user)
    if (present !== undefined) {
      present.nodes.add(node)
      return
    }
    users.set(user, { member, nodes: new Set([node]) })
    // This node's own sockets of the user learn of themselves from `presence:subscribed`.
    announce(channel, 'presence:joining', member, local.get(channel)?.get(user)?.sockets ?? nobody)
  }

  function lose (channel: string, user: string, node: string): void {
    const users = everywhere.get(channel)
    const present = users?.get(user)
    if (users === undefined || present === undefined || !present.nodes.delete(node) || present.nodes.size > 0) return
    users.delete(user)
    if (users.size === 0) everywhere.delete(channel)
    announce(channel, 'presence:leaving', present.member, nobody)
  }

  function membersOf (channel: string): Member[] {
    return [...everywhere.get(channel)?.values() ?? []].map(({ member }) => member)
  }

  return {
    /**
     * Adds the socket's user to the channel and answers every member, its own user included.
     * Joining again (a re-subscribe) changes nothing.
     */
    join (socketId: string, channel: string, member: Member): Member[] {
      let users = local.get(channel)
      if (users === undefined) {
        users = new Map()
        local.set(channel, users)
      }
      const user = userKey(member)
      const mine = users.get(user)
      if (mine === undefined) {
        users.set(user, { member, sockets: new Set([socketId]) })
        send([[channel, user, member]])
      } else {
        mine.sockets.add(socketId)
      }
      const members = membersOf(channel)
      return members.some((other) => userKey(other) === user) ? members : [...members, member]
    },

    /** Takes the socket out of the channel; its user leaves this node with their last socket. */
    leave (socketId: string, channel: string): void {
      const users = local.get(channel)
      if (users === undefined) return
      for (const [user, mine] of users) {
        if (!mine.sockets.delete(socketId)) continue
        if (mine.sockets.size === 0) {
          users.delete(user)
          send([[channel, user, null]])
        }
        break
      }
      if (users.size === 0) local.delete(channel)
    },

    /** Whether the socket is a member of the channel on this node. */
    has (socketId: string, channel: string): boolean {
      for (const mine of local.get(channel)?.values() ?? []) if (mine.sockets.has(socketId)) return true
      return false
    },

    /** Applies a node's changes, in bus order. */
    apply (node: string, changes: readonly PresenceChange[]): void {
      for (const [channel, user, member] of changes) {
        if (member === null) lose(channel, user, node)
        else gain(channel, user, member, node)
      }
    },

    /** Replaces what was known of a node's members (its snapshot). */
    replace (node: string, members: ReadonlyArray<[string, string, Member]>): void {
      const current = new Set(members.map(([channel, user]) => `${channel}\n${user}`))
      for (const [channel, users] of [...everywhere]) {
        for (const [user, present] of [...users]) {
          if (present.nodes.has(node) && !current.has(`${channel}\n${user}`)) lose(channel, user, node)
        }
      }
      for (const [channel, user, member] of members) gain(channel, user, member, node)
    },

    /** Forgets a node that died: its users leave unless another node has them. */
    forget (node: string): void {
      for (const [channel, users] of [...everywhere]) {
        for (const user of [...users.keys()]) lose(channel, user, node)
      }
    },

    /** This node's members, for its snapshot. */
    localMembers (): Array<[string, string, Member]> {
      const members: Array<[string, string, Member]> = []
      for (const [channel, users] of local) for (const [user, { member }] of users) members.push([channel, user, member])
      return members
    },

    /** The channel's members across the cluster. */
    members: membersOf,

    /** Presence channels with at least one member, and how many users each has. */
    userCounts (): Map<string, number> {
      return new Map([...everywhere].map(([channel, users]) => [channel, users.size]))
    }
  }
}

export type Presence = ReturnType<typeof createPresence>
