// A presence member whose connection dropped in a way its client may recover from stays a member
// for a grace period: a client back at once (a blip, a node's shutdown) causes no leaving and joining.
import type { BridgeSocket } from '../schemas/socket.ts'
import type { Presence } from './presence.ts'

export const PRESENCE_GRACE_MS = 5000

export function createPresenceGrace (presence: Presence, graceMs = PRESENCE_GRACE_MS) {
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

    async settled (): Promise<void> {
      await Promise.all([...leavingLater.values()].map(({ left }) => left))
    }
  }
}
