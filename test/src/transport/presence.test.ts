// Presence bookkeeping: one member per user across sockets and nodes, joining with the first
// socket, leaving with the last, and a dead node's users gone.
import t from 'tap'
import { createPresence, type Member, type PresenceChange } from '../../../src/transport/presence.ts'

/** A node whose changes are applied at once, as on a single node; records what it announces. */
function singleNode () {
  const announced: Array<[string, string, Member, string[]]> = []
  const presence = createPresence(
    (changes) => presence.apply('local', changes),
    (channel, event, member, except) => { announced.push([channel, event, member, [...except]]) }
  )
  return { presence, announced }
}

t.test('a user with several sockets is one member; joining with the first, leaving with the last', async (t) => {
  const { presence, announced } = singleNode()
  const ann = { user_id: 1, user_info: { name: 'Ann' } }
  t.same(presence.join('tab-1', 'presence-chat.1', ann), [ann])
  t.same(presence.join('tab-2', 'presence-chat.1', { user_id: '1', user_info: { name: 'Ann' } }), [ann],
    'user ids compare as strings: "1" is the user 1')
  const bob = { user_id: 2 }
  t.same(presence.join('phone', 'presence-chat.1', bob), [ann, bob])
  t.same(announced, [
    ['presence-chat.1', 'presence:joining', ann, ['tab-1']],
    ['presence-chat.1', 'presence:joining', bob, ['phone']]
  ], 'one joining per user, not to the user\'s own sockets')

  presence.leave('tab-1', 'presence-chat.1')
  t.equal(announced.length, 2, 'Ann is still there with her other tab')
  presence.leave('tab-2', 'presence-chat.1')
  t.same(announced.at(-1), ['presence-chat.1', 'presence:leaving', ann, []])
  t.same(presence.members('presence-chat.1'), [bob])
  presence.leave('phone', 'presence-chat.1')
  t.same(presence.members('presence-chat.1'), [])
  t.same(presence.userCounts(), new Map(), 'an empty channel costs nothing')
})

t.test('joining twice with the same socket (a re-subscribe) announces nothing', async (t) => {
  const { presence, announced } = singleNode()
  presence.join('s', 'presence-a', { user_id: 7 })
  presence.join('s', 'presence-a', { user_id: 7 })
  t.equal(announced.length, 1)
  t.ok(presence.has('s', 'presence-a'))
  presence.leave('s', 'presence-a')
  t.equal(announced.length, 2, 'and one leave takes the socket out')
  presence.leave('unknown', 'presence-a')
  presence.leave('s', 'presence-b')
  t.equal(announced.length, 2, 'leaving what was never joined is harmless')
})

t.test('two nodes applying the same changes agree; a dead node\'s users leave', async (t) => {
  const log: Array<[string, PresenceChange[]]> = []
  const announcedOn: Record<string, string[]> = { a: [], b: [] }
  const nodes = Object.fromEntries(['a', 'b'].map((name) => [name, createPresence(
    (changes) => { log.push([name, changes]) },
    (_channel, event, member) => { announcedOn[name]?.push(`${event} ${member.user_id}`) }
  )]))
  const a = nodes.a as ReturnType<typeof createPresence>
  const b = nodes.b as ReturnType<typeof createPresence>
  /** Delivers what was sent, to both nodes, in one order (the bus). */
  const flush = () => { for (const [from, changes] of log.splice(0)) for (const node of [a, b]) node.apply(from, changes) }

  a.join('a1', 'presence-c', { user_id: 1 })
  b.join('b1', 'presence-c', { user_id: 1 })
  b.join('b2', 'presence-c', { user_id: 2 })
  flush()
  t.same(a.members('presence-c'), b.members('presence-c'), 'the same members everywhere')
  t.same(announcedOn, { a: ['presence:joining 1', 'presence:joining 2'], b: ['presence:joining 1', 'presence:joining 2'] })

  a.forget('b')
  b.forget('b')
  t.same(a.members('presence-c'), [{ user_id: 1 }], 'user 1 is still on a; user 2 was only on b')
  t.same(announcedOn.a?.at(-1), 'presence:leaving 2')

  a.replace('b', [['presence-c', '2', { user_id: 2 }]])
  t.same(a.members('presence-c'), [{ user_id: 1 }, { user_id: 2 }], 'a snapshot brings a node\'s members back')
  t.same(b.localMembers(), [['presence-c', '1', { user_id: 1 }], ['presence-c', '2', { user_id: 2 }]])
})
