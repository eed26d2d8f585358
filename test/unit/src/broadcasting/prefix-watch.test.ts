// Reading MONITOR lines for Laravel broadcasts under another prefix.
import t from 'tap'
import { guessedPrefix, laravelShaped, monitorArguments } from '../../../../src/broadcasting/prefix-watch.ts'

t.test('a MONITOR line: the command and its arguments, unescaped', async (t) => {
  const line = '1796590000.123456 [0 127.0.0.1:51234] "PUBLISH" "laravel_database_private-chat.1" "{\\"event\\":\\"A\\\\\\\\B\\",\\"data\\":{\\"t\\":\\"\\xd0\\x9f\\"}}"'
  t.same(monitorArguments(line), ['PUBLISH', 'laravel_database_private-chat.1', '{"event":"A\\\\B","data":{"t":"\xd0\x9f"}}'])
  t.same(monitorArguments('OK'), [])
})

t.test('Laravel-shaped messages and the prefix a channel seems to have', async (t) => {
  t.ok(laravelShaped('{"event":"App\\\\Events\\\\OrderShipped","data":{"id":1},"socket":null}'))
  t.notOk(laravelShaped('{"event":"x"}'), 'no data')
  t.notOk(laravelShaped('not json'))
  t.notOk(laravelShaped('[1]'))
  t.equal(guessedPrefix('laravel_database_private-chat.1'), 'laravel_database_')
  t.equal(guessedPrefix('shop-database-presence-room.2'), 'shop-database-')
  t.equal(guessedPrefix('orders'), undefined, 'a public channel: no way to tell')
})
