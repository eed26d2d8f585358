// The fan-out over audiences: a protocol that brings its own registry of subscribers and its
// own format (as a plain-WebSocket protocol will) gets each event once, in its format, built
// once per event, with `except` and `only` applied as for socket.io's.
import t from 'tap'
import type { EncodedEvent } from '../../../../src/channels/delivery.ts'
import { createFanOut, type Audience, type PresenceAnnouncement } from '../../../../src/transport/fan-out.ts'

function registry (kind: 'room' | 'echo', members: Record<string, string[]>) {
  const written: Array<[string, string]> = []
  const announced: PresenceAnnouncement[] = []
  let frames = 0
  const audience: Audience<string> = {
    kind,
    subscribers: (channel) => members[channel],
    frame (event, offset) {
      frames += 1
      return `${kind}:${event.event}:${event.payloadJson}@${offset}`
    },
    write (id, frame) {
      if (id === 'gone') return false
      written.push([id, frame])
      return true
    },
    announcePresence: (announcement) => announced.push(announcement)
  }
  return { audience, written, announced, frames: () => frames }
}

const event = (extra: Partial<EncodedEvent> = {}): EncodedEvent => ({ channel: 'private-chat_1', event: 'new_message', payloadJson: '{"n":1}', ...extra })

t.test('each audience writes its subscribers of the channel, in its own format, the frame built once', async (t) => {
  const rooms = registry('room', { 'private-chat_1': ['a', 'b', 'gone'] })
  const echo = registry('echo', { 'private-chat_1': ['c'], other: ['d'] })
  const fanOut = createFanOut([rooms.audience, echo.audience])
  t.equal(fanOut.deliver(event({ except: 'b' }), '7'), 2, 'a and c; b is left out, a subscriber gone is not counted')
  t.same(rooms.written, [['a', 'room:new_message:{"n":1}@7']])
  t.same(echo.written, [['c', 'echo:new_message:{"n":1}@7']])
  t.same([rooms.frames(), echo.frames()], [1, 1], 'one frame per audience per event')
})

t.test('an event for one kind reaches that audience only; a channel without subscribers costs no frame', async (t) => {
  const rooms = registry('room', { 'private-chat_1': ['a'] })
  const echo = registry('echo', { 'private-chat_1': ['c'] })
  const fanOut = createFanOut([rooms.audience, echo.audience])
  fanOut.deliver(event({ event: 'client-typing', only: 'echo' }), '8')
  fanOut.deliver(event({ channel: 'nobody' }), '9')
  t.same(rooms.written, [])
  t.same(echo.written.map(([id]) => id), ['c'])
  t.equal(rooms.frames(), 0)
})

t.test('presence changes go to every audience that has presence', async (t) => {
  const echo = registry('echo', {})
  const { audience: withoutPresence } = registry('room', {})
  delete withoutPresence.announcePresence
  const fanOut = createFanOut([withoutPresence, echo.audience])
  const announcement: PresenceAnnouncement = { channel: 'presence-room', event: 'presence:joining', member: { user_id: 7 }, except: new Set(['x']) }
  fanOut.announcePresence(announcement)
  t.same(echo.announced, [announcement])
})
