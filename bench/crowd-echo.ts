// The crowd's Laravel Echo side: subscribing as Echo does (`subscribe {channel, auth}`, answered
// by `subscription_succeeded` or `subscription_error`), and the presence scenario's bookkeeping:
// which users each socket has learned of, and when a watched user's `presence:joining` arrived.
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Socket } from 'socket.io-client'

interface PresenceMember { user_id: string | number }

function now (): number {
  return performance.timeOrigin + performance.now()
}

/** Subscribes as Echo's socket.io connector does; rejects on `subscription_error` or after 60 s. */
export function echoSubscribe (socket: Socket, channel: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`no answer to the Echo subscription of ${channel} within 60 s`)), 60_000)
    function succeeded (name: string) {
      if (name === channel) finish()
    }
    function failed (name: string, status: number) {
      if (name === channel) finish(new Error(`Echo subscription of ${channel} refused with ${status}`))
    }
    function finish (error?: Error) {
      clearTimeout(timer)
      socket.off('subscription_succeeded', succeeded)
      socket.off('subscription_error', failed)
      if (error === undefined) resolve()
      else reject(error)
    }
    socket.on('subscription_succeeded', succeeded)
    socket.on('subscription_error', failed)
    socket.emit('subscribe', { channel, auth: { headers: {} } })
  })
}

/** What one socket saw of a presence channel since the last report. */
interface Seen {
  /** Distinct user ids learned from `presence:subscribed` (itself included) and `presence:joining`. */
  known: Set<string>
  subscribed: boolean
  /** `presence:joining` of a user already known: announced twice. */
  duplicates: number
  joinings: number
  leavings: number
  refusals: number
}

export interface PresenceCounts {
  subscribed: number
  refusals: number
  joinings: number
  leavings: number
  /** Distinct users known, summed over the sockets: members × members once every join is announced. */
  knownTotal: number
  /** Sockets that have received the watched user's `presence:joining`. */
  watchedArrivals: number
  /** Sockets of the group that lost their connection, by socket.io-client's reason. */
  disconnects: Record<string, number>
}

export interface PresenceReport extends PresenceCounts {
  /** Per socket, how many distinct users it knows to be in the channel (itself included). */
  known: number[]
  duplicates: number
  /** Wall-clock time at which each socket received the watched user's `presence:joining`. */
  watchedAt: number[]
}

interface GroupState {
  channel: string
  seen: Seen[]
  watched?: string
  watchedAt: number[]
  disconnects: Record<string, number>
}

const fresh = (): Seen => ({ known: new Set(), subscribed: false, duplicates: 0, joinings: 0, leavings: 0, refusals: 0 })

/** The crowd's presence requests, over the sockets of its groups (`socketsOf`). */
export function presenceHandlers (socketsOf: (name: string) => Socket[]) {
  const states = new Map<string, GroupState>()

  function listen (state: GroupState, socket: Socket, index: number): void {
    const seen = () => state.seen[index] as Seen
    socket.on('presence:subscribed', (channel: string, members: PresenceMember[]) => {
      if (channel !== state.channel) return
      for (const member of members) seen().known.add(String(member.user_id))
      seen().subscribed = true
    })
    socket.on('presence:joining', (channel: string, member: PresenceMember) => {
      if (channel !== state.channel) return
      const id = String(member.user_id)
      const record = seen()
      record.joinings++
      if (record.known.has(id)) record.duplicates++
      record.known.add(id)
      if (id === state.watched) state.watchedAt.push(now())
    })
    socket.on('presence:leaving', (channel: string) => {
      if (channel === state.channel) seen().leavings++
    })
    socket.on('subscription_error', (channel: string) => {
      if (channel === state.channel) seen().refusals++
    })
    socket.on('disconnect', (reason: string) => {
      // The crowd's own disconnect at the end of a scenario is not a problem.
      if (reason !== 'io client disconnect') state.disconnects[reason] = (state.disconnects[reason] ?? 0) + 1
    })
  }

  function stateOf (name: string, channel: string): GroupState {
    let state = states.get(name)
    if (state === undefined) {
      const sockets = socketsOf(name)
      state = { channel, seen: sockets.map(fresh), watchedAt: [], disconnects: {} }
      states.set(name, state)
      sockets.forEach((socket, index) => listen(state as GroupState, socket, index))
    }
    return state
  }

  function counts (state: GroupState): PresenceCounts {
    const sum = (key: 'joinings' | 'leavings' | 'refusals') => state.seen.reduce((total, seen) => total + seen[key], 0)
    return {
      subscribed: state.seen.filter((seen) => seen.subscribed).length,
      refusals: sum('refusals'),
      joinings: sum('joinings'),
      leavings: sum('leavings'),
      knownTotal: state.seen.reduce((total, seen) => total + seen.known.size, 0),
      watchedArrivals: state.watchedAt.length,
      disconnects: { ...state.disconnects }
    }
  }

  return {
    /** Every socket of the group sends `subscribe` at once; answers the wall-clock time it did. */
    presenceJoin: ({ name, channel }: { name: string, channel: string }): number => {
      stateOf(name, channel)
      const sentAt = now()
      for (const socket of socketsOf(name)) socket.emit('subscribe', { channel, auth: { headers: {} } })
      return sentAt
    },
    /** Every socket of the group sends `unsubscribe` at once; answers the wall-clock time it did. */
    presenceLeave: ({ name, channel }: { name: string, channel: string }): number => {
      const sentAt = now()
      for (const socket of socketsOf(name)) socket.emit('unsubscribe', { channel })
      return sentAt
    },
    /** From now on, note when each socket hears that `userId` joined. */
    presenceWatch: ({ name, channel, userId }: { name: string, channel: string, userId: string }): void => {
      const state = stateOf(name, channel)
      state.watched = userId
      state.watchedAt = []
    },
    presenceCount: ({ name, channel }: { name: string, channel: string }): PresenceCounts => counts(stateOf(name, channel)),
    /** What the group saw since the last report; starts the next round from nothing. */
    presenceReport: ({ name, channel }: { name: string, channel: string }): PresenceReport => {
      const state = stateOf(name, channel)
      const report = {
        ...counts(state),
        known: state.seen.map((seen) => seen.known.size),
        duplicates: state.seen.reduce((total, seen) => total + seen.duplicates, 0),
        watchedAt: state.watchedAt
      }
      state.seen = state.seen.map(fresh)
      delete state.watched
      state.watchedAt = []
      return report
    },
    /**
     * Every socket of the group alternates `subscribe` and `unsubscribe`, `callsPerSecond` calls
     * a second each, for `durationMs`, and ends outside the channel; answers the calls sent and
     * the subscriptions refused meanwhile (429 past the bridge's rate limit).
     */
    presenceFlap: async ({ name, channel, callsPerSecond, durationMs }: { name: string, channel: string, callsPerSecond: number, durationMs: number }): Promise<{ calls: number, refusals: number }> => {
      const state = stateOf(name, channel)
      const sockets = socketsOf(name)
      const refusedBefore = counts(state).refusals
      const started = performance.now()
      let calls = 0
      let tick = 0
      for (; performance.now() - started < durationMs || tick % 2 === 1; tick++) {
        for (const socket of sockets) {
          if (tick % 2 === 0) socket.emit('subscribe', { channel, auth: { headers: {} } })
          else socket.emit('unsubscribe', { channel })
        }
        calls += sockets.length
        await sleep(Math.max(0, started + (tick + 1) * 1000 / callsPerSecond - performance.now()))
      }
      return { calls, refusals: counts(state).refusals - refusedBefore }
    },
    presenceForget: ({ name }: { name: string }): void => { states.delete(name) }
  }
}
