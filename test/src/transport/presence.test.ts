// Presence bookkeeping: one member per user, joining with the first socket, leaving with the last.
import t from 'tap'
import { createPresence, type Member } from '../../../src/transport/presence.ts'

function recorder () {
  const announced: Array<[string, string, Member, string]> = []
  const presence = createPresence((channel, event, member, except) => { announced.push([channel, event, member, except]) })
  return { presence, announced }
}

t.test('a user with several sockets is one member; joining with the first, leaving with the last', async (t) => {
  const { presence, announced } = recorder()
  const ann = { user_id: 1, user_info: { name: 'Ann' } }
  t.same(presence.join({ id: 'tab-1' }, 'presence-chat.1', ann), [ann])
  t.same(presence.join({ id: 'tab-2' }, 'presence-chat.1', { user_id: '1', user_info: { name: 'Ann' } }), [ann],
    'user ids compare as strings: "1" is the user 1')
  const bob = { user_id: 2 }
  t.same(presence.join({ id: 'phone' }, 'presence-chat.1', bob), [ann, bob])
  t.same(announced, [
    ['presence-chat.1', 'presence:joining', ann, 'tab-1'],
    ['presence-chat.1', 'presence:joining', bob, 'phone']
  ], 'one joining per user')

  presence.leave({ id: 'tab-1' }, 'presence-chat.1')
  t.equal(announced.length, 2, 'Ann is still there with her other tab')
  presence.leave({ id: 'tab-2' }, 'presence-chat.1')
  t.same(announced.at(-1), ['presence-chat.1', 'presence:leaving', ann, 'tab-2'])
  t.same(presence.members('presence-chat.1'), [bob])
  presence.leave({ id: 'phone' }, 'presence-chat.1')
  t.same(presence.members('presence-chat.1'), [])
  t.same(presence.userCounts(), new Map(), 'an empty channel costs nothing')
})

t.test('joining twice with the same socket (a re-subscribe) announces nothing', async (t) => {
  const { presence, announced } = recorder()
  presence.join({ id: 's' }, 'presence-a', { user_id: 7 })
  presence.join({ id: 's' }, 'presence-a', { user_id: 7 })
  t.equal(announced.length, 1)
  presence.leave({ id: 's' }, 'presence-a')
  t.equal(announced.length, 2, 'and one leave takes the socket out')
  presence.leave({ id: 'unknown' }, 'presence-a')
  presence.leave({ id: 's' }, 'presence-b')
  t.equal(announced.length, 2, 'leaving what was never joined is harmless')
})
