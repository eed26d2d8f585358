// Local fan-out: an event this node applies is written to each of its subscribers of the
// channel, audience by audience (a protocol's subscribers, in that protocol's format), encoded
// once per audience. An audience is a registry of subscribers keyed by channel with its own
// format and write: the socket.io protocols' (src/transport/socket-io-audiences.ts) are read
// from socket.io's rooms; a protocol on plain WebSockets brings its own.
import type { EncodedEvent } from '../channels/delivery.ts'
import type { Member } from '../channels/member.ts'
import type { SubscriptionKind } from '../channels/names.ts'

/** A presence change told to a channel's subscribers on this node. */
export interface PresenceAnnouncement {
  channel: string
  event: 'presence:joining' | 'presence:leaving'
  member: Member
  /** Subscribers that must not be told. */
  except: ReadonlySet<string>
  /** When set, only these subscribers (those still subscribed) are told, and no one else. */
  only?: ReadonlySet<string>
}

export interface Audience<Frame = unknown> {
  /** Which subscriptions it holds, and so which events it gets (`only`). */
  readonly kind: SubscriptionKind
  /** The ids of its subscribers of `channel` on this node. */
  subscribers (channel: string): Iterable<string> | undefined
  /** What an event is written as to each of them: made once per event. */
  frame (event: EncodedEvent, offset: string): Frame
  /** Writes a frame to one subscriber; false when it is not here any more. */
  write (id: string, frame: Frame): boolean
  /** Tells its subscribers of a presence channel who joined or left, where its protocol has presence. */
  announcePresence?: (announcement: PresenceAnnouncement) => void
}

export function createFanOut (audiences: ReadonlyArray<Audience<unknown>>) {
  return {
    /** Writes the event to the subscribers of its channel on this node; answers how many got it. */
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

    /** Tells every audience with presence who joined or left a channel. */
    announcePresence (announcement: PresenceAnnouncement): void {
      for (const audience of audiences) audience.announcePresence?.(announcement)
    }
  }
}

export type FanOut = ReturnType<typeof createFanOut>
