// Where a restore finds the session of a reconnecting client, with the stores that hold it
// stood in for: the order of the lookups decides whether a client back at the wrong moment
// recovers.
import t from 'tap'
import type { BridgeServer } from '../../../../src/schemas/socket.ts'
import type { Clock, Position } from '../../../../src/backplane/positions.ts'
import { createRecovery } from '../../../../src/transport/recovery.ts'
import type { StoredSession } from '../../../../src/backplane/backplane.ts'
import { createMemorySessionStore } from '../../../../src/backplane/local/memory-sessions.ts'

const session: StoredSession = { sid: 'sid-1', pid: 'pid-1', rooms: ['room/chat_1'], data: {}, from: [['chat_1', [0, 1, 0]]] }

t.test('a session stored by the old node while the new one was looking for it is still found', async (t) => {
  // The old node stores the session after this node's first look for it, and drops the live
  // record before this node looks for that: the stored one is there for a second look.
  const stored = createMemorySessionStore({ ttlMs: 60_000 })
  t.teardown(() => stored.close())
  const looks: string[] = []
  const sessions = {
    ...stored,
    async take (pid: string) {
      looks.push('stored')
      const found = await stored.take(pid)
      if (looks.length === 1) stored.save(session)
      return found
    }
  }
  const recovery = createRecovery({
    io: { of: () => ({ sockets: new Map() }) } as unknown as BridgeServer,
    replay: () => {},
    sessions,
    history: { read: () => [] },
    shardOf: () => 0,
    formatOffset: (clock: Clock) => (clock.get(0) ?? [0, 0, 0]).join('-'),
    parseOffset: (offset: string) => new Map([[0, offset.split('-').map(Number) as unknown as Position]]),
    deadConnectionMs: 60_000,
    joinedAt: () => undefined,
    rejoining: () => {},
    busCaughtUp: async () => {},
    readBack: async () => undefined,
    live: async () => {
      looks.push('live')
      return undefined
    }
  })
  t.teardown(() => recovery.close())
  recovery.advance(0, [0, 3, 0])

  const restored = await recovery.restore('pid-1', '0-2-0')
  t.same(looks, ['stored', 'live', 'stored'], 'stored, live, then stored again')
  t.match(restored, { sid: 'sid-1', pid: 'pid-1' }, 'the client recovers')
  t.equal(recovery.pendingRestores, 1)
})
