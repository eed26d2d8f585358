import t from 'tap'
import { roomAllowed, roomMatches } from '../../../../src/auth/room-allowed.ts'

t.test('exact names and prefix* patterns', async (t) => {
  const patterns = ['chat_1', 'team_7_*']
  t.ok(roomMatches('chat_1', patterns))
  t.ok(roomMatches('team_7_a', patterns))
  t.ok(roomMatches('team_7_', patterns))
  for (const room of ['chat_10', 'chat_', 'team_7', 'team_70', 'xteam_7_a']) t.notOk(roomMatches(room, patterns), room)
  t.ok(roomMatches('anything', ['*']), 'a lone * allows every room')
  t.notOk(roomMatches('chat_1', []), 'no patterns, no room')
})

t.test('a per-room token counts for its own user and room only', async (t) => {
  const connection = { userId: '42', rooms: ['lobby'] }
  t.ok(roomAllowed('lobby', connection))
  t.ok(roomAllowed('chat_5', connection, { userId: '42', room: 'chat_5' }))
  t.notOk(roomAllowed('chat_5', connection), 'without it')
  t.notOk(roomAllowed('chat_5', connection, { userId: '43', room: 'chat_5' }), 'another user')
  t.notOk(roomAllowed('chat_5', connection, { userId: '42', room: 'chat_6' }), 'another room')
  t.notOk(roomAllowed('chat_5', connection, { userId: '42', room: 'chat_*' }), 'no patterns in a per-room token')
})
