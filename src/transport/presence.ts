// Presence channels: who is in a channel, one member per user however many sockets (tabs,
// devices) they have there. The member list comes from the sockets themselves: a socket joins
// with its member, leaves when it unsubscribes or disconnects, and the user is a member while
// at least one of their sockets is there. `presence:joining` goes out when a user's first
// socket joins, `presence:leaving` when their last one leaves.

/** A presence member as Laravel describes it (`channel_data`); user ids compare as strings. */
export interface Member {
  user_id: string | number
  user_info?: unknown
}

/** What presence needs of a socket: its id. */
interface PresenceSocket {
  id: string
}

/** What a change of membership is announced with: the channel's other sockets get the event. */
export type Announce = (channel: string, event: 'presence:joining' | 'presence:leaving', member: Member, except: string) => void

interface UserPresence {
  member: Member
  sockets: Set<string>
}

export function userKey (member: Member): string {
  return String(member.user_id)
}

export function createPresence (announce: Announce) {
  /** channel → user id (as a string) → the user's member and sockets there. */
  const channels = new Map<string, Map<string, UserPresence>>()

  function membersOf (users: Map<string, UserPresence> | undefined): Member[] {
    return users === undefined ? [] : [...users.values()].map(({ member }) => member)
  }

  return {
    /**
     * Adds the socket's user to the channel and answers every member, its own user included.
     * Joining again (Echo re-subscribes after a reconnect) changes nothing and announces nothing.
     */
    join (socket: PresenceSocket, channel: string, member: Member): Member[] {
      let users = channels.get(channel)
      if (users === undefined) {
        users = new Map()
        channels.set(channel, users)
      }
      const key = userKey(member)
      const present = users.get(key)
      if (present !== undefined) {
        present.sockets.add(socket.id)
      } else {
        users.set(key, { member, sockets: new Set([socket.id]) })
        announce(channel, 'presence:joining', member, socket.id)
      }
      return membersOf(users)
    },

    /** Takes the socket out of the channel; its user leaves with their last socket. */
    leave (socket: PresenceSocket, channel: string): void {
      const users = channels.get(channel)
      if (users === undefined) return
      for (const [key, presence] of users) {
        if (!presence.sockets.delete(socket.id)) continue
        if (presence.sockets.size === 0) {
          users.delete(key)
          announce(channel, 'presence:leaving', presence.member, socket.id)
        }
        break
      }
      if (users.size === 0) channels.delete(channel)
    },

    /** The channel's members right now (one per user). */
    members (channel: string): Member[] {
      return membersOf(channels.get(channel))
    },

    /** Presence channels with at least one member, and how many users each has. */
    userCounts (): Map<string, number> {
      return new Map([...channels].map(([channel, users]) => [channel, users.size]))
    }
  }
}

export type Presence = ReturnType<typeof createPresence>
