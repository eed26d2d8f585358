// Local fan-out: an event this node applies is written to its subscribers of the channel,
// audience by audience, encoded once per audience. An audience is one protocol's registry of
// subscribers keyed by channel, with its own format and write (socket.io's two are read from
// its rooms, src/transport/socket-io-audiences.ts); a protocol on plain WebSockets brings its own.
import type { EncodedEvent } from '../channels/delivery.ts'
import type { Member } from '../channels/member.ts'
import type { SubscriptionKind } from '../channels/names.ts'

export interface PresenceAnnouncement {
  channel: string
  event: 'presence:joining' | 'presence:leaving'
  member: Member
  except: ReadonlySet<string>
  /** When set, only these subscribers (those still subscribed) are told, and no one else. */
  only?: ReadonlySet<string>
}

export interface Audience<Frame = unknown> {
  /** Which subscriptions it holds, and so which events it gets (`only`). */
  readonly kind: SubscriptionKind
  subscribers (channel: string): Iterable<string> | undefined
  /** Made once per event. */
  frame (event: EncodedEvent, offset: string): Frame
  /** False when the subscriber is not here any more. */
  write (id: string, frame: Frame): boolean
  /** Where its protocol has presence. */
  announcePresence?: (announcement: PresenceAnnouncement) => void
}

export function createFanOut (audiences: ReadonlyArray<Audience<unknown>>) {
  return {
    deliver (event: EncodedEvent, offset: string): number {
      let delivered = 0
      for (const audience of audiences) {
        if (event.only !== undefined && event.only !== audience.kind) continue
        const members = audience.subscribers(event.channel)
        if (members === undefined) continue
        const frame = audience.frame(event, offset)
        for (const id of members) {
          if (id !== event.except && audience.write(id, frame)) delivered += 1
        }
      }
      return delivered
    },

    announcePresence (announcement: PresenceAnnouncement): void {
      for (const audience of audiences) audience.announcePresence?.(announcement)
    }
  }
}

export type FanOut = ReturnType<typeof createFanOut>
