// Recovery over a bus of several shards: a client's offset is a clock (a position per shard), a
// restore waits for every shard it names, each channel resumes from its own shard's position,
// and what is replayed carries a clock the client can resume from again.
import t, { type Test } from 'tap'
import type { StoredSession } from '../../../../src/backplane/backplane.ts'
import { createMemorySessionStore } from '../../../../src/backplane/local/memory-sessions.ts'
import type { Clock, Position } from '../../../../src/backplane/positions.ts'
import type { EncodedEvent } from '../../../../src/channels/delivery.ts'
import type { BridgeServer, BridgeSocket } from '../../../../src/schemas/socket.ts'
import { createRecovery, type PositionedEvent } from '../../../../src/transport/recovery.ts'

// Channels a… go through shard 0, b… through shard 1.
const shardOf = (channel: string) => channel.startsWith('a') ? 0 : 1
const formatOffset = (clock: Clock) => JSON.stringify([...clock].sort(([x], [y]) => x - y))
const parseOffset = (offset: string): Clock => new Map(JSON.parse(offset) as Array<[number, Position]>)
const event = (channel: string, n: number): EncodedEvent => ({ channel, event: 'new_message', payloadJson: JSON.stringify({ n }) })

function setUp (t: Test, missed: PositionedEvent[] = []) {
  const sessions = createMemorySessionStore({ ttlMs: 60_000 })
  t.teardown(() => sessions.close())
  const reads: Array<{ after: Array<[string, Position]>, upTo: Array<[number, Position]> }> = []
  const replayed: Array<{ event: string, offset: string }> = []
  const recovery = createRecovery({
    io: { of: () => ({ sockets: new Map() }) } as unknown as BridgeServer,
    replay: (_socket, events) => {
      for (const { event, offset } of events) replayed.push({ event: `${event.channel}${JSON.parse(event.payloadJson).n}`, offset })
    },
    sessions,
    history: {
      read (after, upTo) {
        reads.push({ after: [...after], upTo: [...upTo] })
        return missed
      }
    },
    shardOf,
    formatOffset,
    parseOffset,
    deadConnectionMs: 60_000,
    catchUpMs: 200,
    joinedAt: () => undefined,
    rejoining: () => {},
    busCaughtUp: async () => {},
    readBack: async () => undefined,
    live: async () => undefined
  })
  t.teardown(() => recovery.close())
  const session: StoredSession = { sid: 'sid-1', pid: 'pid-1', rooms: ['room/a', 'room/b'], data: {}, from: [['a', [1, 1, 0]], ['b', [1, 1, 0]]] }
  sessions.save(session)
  return { recovery, reads, replayed, sessions, session }
}

t.test('a restore waits until every shard its offset names is applied here', async (t) => {
  const { recovery, sessions, session } = setUp(t)
  recovery.advance(0, [1, 5, 0])
  const offset = formatOffset(new Map([[0, [1, 5, 0]], [1, [1, 2, 0]]]))
  t.equal(await recovery.restore('pid-1', offset), null, 'shard 1 never got to [1, 2, 0] here: the client starts over')

  sessions.save(session)
  const restoring = recovery.restore('pid-1', offset)
  setTimeout(() => { recovery.advance(1, [1, 2, 0]) }, 50)
  t.match(await restoring, { sid: 'sid-1' }, 'restored once shard 1 got there')
})

t.test('each channel resumes after the later of its session\'s position and its shard\'s in the offset', async (t) => {
  const { recovery, reads } = setUp(t)
  recovery.advance(0, [1, 9, 0])
  recovery.advance(1, [1, 7, 0])
  t.match(await recovery.restore('pid-1', formatOffset(new Map([[0, [1, 4, 2]]]))), { sid: 'sid-1' })
  t.same(reads, [{ after: [['a', [1, 4, 2]], ['b', [1, 1, 0]]], upTo: [[0, [1, 9, 0]], [1, [1, 7, 0]]] }],
    'a from the offset\'s shard 0, b from its session (the offset says nothing of shard 1), up to this node\'s clock')
})

t.test('replayed events carry the shards replayed so far; events captured meanwhile, the clock they were applied at', async (t) => {
  const missed: PositionedEvent[] = [
    { position: [1, 2, 0], event: event('a', 2) },
    { position: [1, 3, 0], event: event('b', 3) },
    { position: [1, 4, 0], event: event('a', 4) }
  ]
  const { recovery, replayed } = setUp(t, missed)
  recovery.advance(0, [1, 4, 0])
  recovery.advance(1, [1, 3, 0])
  t.match(await recovery.restore('pid-1', formatOffset(new Map())), { sid: 'sid-1' })
  recovery.applied(1, [1, 6, 0], event('b', 6))
  recovery.applied(0, [1, 5, 0], event('x', 5))
  const socket = { id: 'sid-1', join () {}, conn: { close () {} } } as unknown as BridgeSocket
  t.equal(recovery.complete(socket), true)
  t.same(replayed, [
    { event: 'a2', offset: formatOffset(new Map([[0, [1, 2, 0]]])) },
    { event: 'b3', offset: formatOffset(new Map([[0, [1, 2, 0]], [1, [1, 3, 0]]])) },
    { event: 'a4', offset: formatOffset(new Map([[0, [1, 4, 0]], [1, [1, 3, 0]]])) },
    { event: 'b6', offset: formatOffset(new Map([[0, [1, 4, 0]], [1, [1, 6, 0]]])) }
  ], 'missed in order with partial clocks, then the captured event with the whole clock (x is not the session\'s)')
})
