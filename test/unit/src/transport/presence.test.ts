// Presence bookkeeping: one member per user across sockets and nodes, joining with the first
// socket, leaving with the last, and a dead node's users gone.
import t from 'tap'
import { createPresence, type Member, type PresenceChange } from '../../../../src/transport/presence.ts'

/**
 * A node whose changes are applied at once, as on a single node; records what it announces.
 * Announcements are not held here (`holdMs: 0`): the hold has its own tests below.
 */
function singleNode () {
  const announced: Array<[string, string, Member, string[]]> = []
  const presence = createPresence(
    (changes) => presence.apply('local', changes),
    (channel, event, member, except) => { announced.push([channel, event, member, [...except]]) },
    { holdMs: 0 }
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
    (_channel, event, member) => { announcedOn[name]?.push(`${event} ${member.user_id}`) },
    { holdMs: 0 }
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

/** A node whose held announcements end when the test says so (`endHolds`), recording each with its audience. */
function heldNode () {
  const holds: Array<() => void> = []
  const announced: string[] = []
  const presence = createPresence(
    (changes) => presence.apply('local', changes),
    (_channel, event, member, except, only) => {
      const audience = only === undefined ? `all but [${[...except].join(',')}]` : `only [${[...only].join(',')}]`
      announced.push(`${event} ${member.user_id} to ${audience}`)
    },
    { schedule: (run) => { holds.push(run); return () => { holds.splice(holds.indexOf(run), 1) } } }
  )
  const endHolds = () => { for (const run of holds.splice(0)) run() }
  return { presence, announced, endHolds, pending: () => holds.length }
}

t.test('a user flapping within a hold: only the net change is announced, at its end', async (t) => {
  const { presence, announced, endHolds, pending } = heldNode()
  presence.join('watcher', 'presence-a', { user_id: 'w' })
  endHolds()
  announced.splice(0)

  presence.join('flap', 'presence-a', { user_id: 'f' })
  presence.leave('flap', 'presence-a')
  t.same(announced, [], 'nothing announced during the hold')
  t.same(presence.members('presence-a'), [{ user_id: 'w' }], 'the member list shows the current state at once')
  endHolds()
  t.same(announced, [], 'a join and a leave inside one hold announce nothing')
  t.equal(pending(), 0, 'and no hold is left behind')

  for (let i = 0; i < 5; i++) {
    presence.join('flap', 'presence-a', { user_id: 'f' })
    presence.leave('flap', 'presence-a')
  }
  presence.join('flap', 'presence-a', { user_id: 'f' })
  t.equal(pending(), 1, 'one hold for the user, however many changes')
  endHolds()
  t.same(announced, ['presence:joining f to all but [flap]'], 'eleven changes, one joining')
  presence.leave('flap', 'presence-a')
  endHolds()
  t.same(announced.at(-1), 'presence:leaving f to all but []')
})

t.test('a socket listed during a hold is told only what differs from its list', async (t) => {
  const { presence, announced, endHolds } = heldNode()
  presence.join('early', 'presence-a', { user_id: 'e' })
  endHolds()
  announced.splice(0)

  // Ann joins; Bob subscribes after her and sees her in his list: he needs no joining.
  presence.join('ann', 'presence-a', { user_id: 'a' })
  t.same(presence.join('bob', 'presence-a', { user_id: 'b' }).map(({ user_id: id }) => id), ['e', 'a', 'b'])
  endHolds()
  t.same(announced, [
    'presence:joining a to all but [ann,bob]',
    'presence:joining b to all but [bob]'
  ], 'the early socket learns of both; Bob is not told of Ann twice, Ann is told of Bob')

  // Ann leaves; Carl subscribes without her in his list; Ann is back before the hold ends.
  announced.splice(0)
  presence.leave('ann', 'presence-a')
  t.same(presence.join('carl', 'presence-a', { user_id: 'c' }).map(({ user_id: id }) => id), ['e', 'b', 'c'])
  presence.join('ann', 'presence-a', { user_id: 'a' })
  endHolds()
  t.same(announced, [
    'presence:joining a to only [carl]',
    'presence:joining c to all but [carl,ann]'
  ], 'Ann is back where the others last saw her: only Carl, whose list lacked her, hears of her; her own new list showed Carl')
})

t.test('holds end with the presence: nothing is announced after close', async (t) => {
  const { presence, announced, pending } = heldNode()
  presence.join('s', 'presence-a', { user_id: 1 })
  t.equal(pending(), 1)
  presence.close()
  t.equal(pending(), 0)
  t.same(announced, [])
})
