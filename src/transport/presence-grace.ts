// A presence member whose connection dropped in a way its client may recover from stays a
// member for a grace period, so that a client back at once (a network blip, a node's shutdown)
// causes no `leaving` and `joining`; back within it, its memberships carry on as they were.
import type { BridgeSocket } from '../schemas/socket.ts'
import type { Presence } from './presence.ts'

/** How long a dropped socket's presence memberships outlive it. */
export const PRESENCE_GRACE_MS = 5000

export function createPresenceGrace (presence: Presence, graceMs = PRESENCE_GRACE_MS) {
  /** Presence members whose socket dropped, until the grace ends: sid → channels. */
  const leavingLater = new Map<string, { timer: NodeJS.Timeout, done: () => void, left: Promise<void> }>()

  function leaveNow (sid: string, channels: Iterable<string>): void {
    for (const channel of channels) presence.leave(sid, channel)
  }

  return {
    /** A restored session: its presence memberships continue, announcing nothing new. */
    restored (socket: BridgeSocket): void {
      const waiting = leavingLater.get(socket.id)
      if (waiting !== undefined) {
        clearTimeout(waiting.timer)
        leavingLater.delete(socket.id)
        waiting.done()
      }
      for (const [channel, member] of Object.entries(socket.data.presence ?? {})) presence.restore(socket.id, channel, member)
    },

    /** A socket is gone: its user leaves its presence channels now, or after the grace when it may come back. */
    dropped (socket: BridgeSocket, mayComeBack: boolean): void {
      const channels = Object.keys(socket.data.presence ?? {})
      if (channels.length === 0) return
      if (!mayComeBack) return leaveNow(socket.id, channels)
      let done = () => {}
      const left = new Promise<void>((resolve) => { done = resolve })
      const timer = setTimeout(() => {
        leavingLater.delete(socket.id)
        leaveNow(socket.id, channels)
        done()
      }, graceMs)
      leavingLater.set(socket.id, { timer, done, left })
    },

    /** Resolves once every grace under way has ended (the members left, or came back). */
    async settled (): Promise<void> {
      await Promise.all([...leavingLater.values()].map(({ left }) => left))
    }
  }
}
