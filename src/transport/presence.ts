// Presence channels: one member per user however many sockets (tabs, devices, nodes) they have
// there. Each node tells the others over the bus when a user's first socket on it joins and
// their last one leaves. Announcements are held a second, then only the net change goes out, so
// a flapping user costs every member at most one event a second (docs/echo.md#presence-channels).
import { userKey, type Member } from '../channels/member.ts'

export type { Member } from '../channels/member.ts'

export type PresenceChange = [channel: string, user: string, member: Member | null]

/** Tells the channel's subscribers on this node but `except` (with `only`: those of `only` still subscribed). */
export type Announce = (
  channel: string,
  event: 'presence:joining' | 'presence:leaving',
  member: Member,
  except: ReadonlySet<string>,
  only?: ReadonlySet<string>
) => void

/** A user's joining or leaving in a channel is announced at most once in this long. */
export const ANNOUNCE_HOLD_MS = 1000

export interface PresenceOptions {
  holdMs?: number
  /** A user's first socket anywhere in the cluster joined (true) or their last left, as the bus orders it (webhooks). */
  onMember?: (channel: string, user: string, present: boolean) => void
  schedule?: (run: () => void, ms: number) => () => void
}

interface Hold {
  announced: boolean
  member: Member
  /** Versions of the user's changes during the hold; they alternate, so after the n-th the state is `announced` when n is even. */
  changes: number[]
  cancel: () => void
}

function later (run: () => void, ms: number): () => void {
  const timer = setTimeout(run, ms)
  timer.unref()
  return () => clearTimeout(timer)
}

const nobody: ReadonlySet<string> = new Set()
const UNLISTED = -1

export function createPresence (send: (changes: PresenceChange[]) => void, announce: Announce, options: PresenceOptions = {}) {
  const { holdMs = ANNOUNCE_HOLD_MS, schedule = later, onMember } = options
  /** channel → user → this node's sockets of the user there, each with the version of the member list it got. */
  const local = new Map<string, Map<string, { member: Member, sockets: Map<string, number> }>>()
  /** channel → user → the member and the nodes where the user has a socket there. */
  const everywhere = new Map<string, Map<string, { member: Member, nodes: Set<string> }>>()
  const holds = new Map<string, Map<string, Hold>>()
  /** Counts membership changes: a member list given at version v shows every change up to v. */
  let version = 0
  const listedIn = new Map<string, number>()

  function changed (channel: string, user: string, member: Member, present: boolean): void {
    version += 1
    let users = holds.get(channel)
    if (users === undefined) {
      users = new Map()
      holds.set(channel, users)
    }
    let hold = users.get(user)
    if (hold === undefined) {
      const held: Hold = { announced: !present, member, changes: [], cancel: () => {} }
      users.set(user, held)
      if (holdMs > 0) held.cancel = schedule(() => release(channel, user, held), holdMs)
      hold = held
    }
    hold.member = member
    hold.changes.push(version)
    if (holdMs === 0) release(channel, user, hold)
  }

  function shown (hold: Hold, listed: number): boolean {
    let after = 0
    while (after < hold.changes.length && (hold.changes[after] as number) <= listed) after += 1
    return after % 2 === 0 ? hold.announced : !hold.announced
  }

  /** The hold ends: each socket is told what differs from what it knows of the user. */
  function release (channel: string, user: string, hold: Hold): void {
    const users = holds.get(channel)
    users?.delete(user)
    if (users?.size === 0) holds.delete(channel)
    const present = everywhere.get(channel)?.get(user)
    const now = present !== undefined
    const event = now ? 'presence:joining' : 'presence:leaving'
    const member = present?.member ?? hold.member
    const mine = local.get(channel)
    const except = new Set(mine?.get(user)?.sockets.keys() ?? [])
    const behind = new Set<string>()
    const since = hold.changes[0] as number
    if (mine !== undefined && (listedIn.get(channel) ?? UNLISTED) >= since) {
      for (const [other, { sockets }] of mine) {
        if (other === user) continue
        for (const [socketId, listed] of sockets) {
          if (listed < since) continue
          except.add(socketId)
          if (shown(hold, listed) !== now) behind.add(socketId)
        }
      }
    }
    if (now !== hold.announced) announce(channel, event, member, except)
    if (behind.size > 0) announce(channel, event, member, nobody, behind)
  }

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
    onMember?.(channel, user, true)
    changed(channel, user, member, true)
  }

  function lose (channel: string, user: string, node: string): void {
    const users = everywhere.get(channel)
    const present = users?.get(user)
    if (users === undefined || present === undefined || !present.nodes.delete(node) || present.nodes.size > 0) return
    users.delete(user)
    if (users.size === 0) everywhere.delete(channel)
    onMember?.(channel, user, false)
    changed(channel, user, present.member, false)
  }

  function membersOf (channel: string): Member[] {
    return [...everywhere.get(channel)?.values() ?? []].map(({ member }) => member)
  }

  function add (socketId: string, channel: string, member: Member): void {
    let users = local.get(channel)
    if (users === undefined) {
      users = new Map()
      local.set(channel, users)
    }
    const user = userKey(member)
    const mine = users.get(user)
    if (mine === undefined) {
      users.set(user, { member, sockets: new Map([[socketId, UNLISTED]]) })
      send([[channel, user, member]])
    } else if (!mine.sockets.has(socketId)) {
      mine.sockets.set(socketId, UNLISTED)
    }
  }

  function list (socketId: string, channel: string, member: Member): Member[] {
    const user = userKey(member)
    const sockets = local.get(channel)?.get(user)?.sockets
    if (sockets?.has(socketId) === true) {
      sockets.set(socketId, version)
      listedIn.set(channel, version)
    }
    const members = membersOf(channel)
    return members.some((other) => userKey(other) === user) ? members : [...members, member]
  }

  return {
    /** Adds the socket's user and answers every member, its own user included; a re-subscribe changes nothing. */
    join (socketId: string, channel: string, member: Member): Member[] {
      add(socketId, channel, member)
      return list(socketId, channel, member)
    },

    /** Adds a restored socket's user back, sending it no member list (its client knows one). */
    restore: add,

    /** The member list for a socket already in the channel, as it is now (after catching up). */
    list,

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
      if (users.size === 0) {
        local.delete(channel)
        listedIn.delete(channel)
      }
    },

    has (socketId: string, channel: string): boolean {
      for (const mine of local.get(channel)?.values() ?? []) if (mine.sockets.has(socketId)) return true
      return false
    },

    apply (node: string, changes: readonly PresenceChange[]): void {
      for (const [channel, user, member] of changes) {
        if (member === null) lose(channel, user, node)
        else gain(channel, user, member, node)
      }
    },

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

    localMembers (): Array<[string, string, Member]> {
      const members: Array<[string, string, Member]> = []
      for (const [channel, users] of local) for (const [user, { member }] of users) members.push([channel, user, member])
      return members
    },

    members: membersOf,

    userCounts (): Map<string, number> {
      return new Map([...everywhere].map(([channel, users]) => [channel, users.size]))
    },

    close (): void {
      for (const users of holds.values()) for (const hold of users.values()) hold.cancel()
      holds.clear()
    }
  }
}

export type Presence = ReturnType<typeof createPresence>
