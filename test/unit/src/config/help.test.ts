// The help text: every variable with its default and meaning, as plain text for a terminal.
import t from 'tap'
import { configHelp } from '../../../../src/config/index.ts'
import { ConfigSchema } from '../../../../src/config/schema.ts'
import { variablesOf } from '../../../../src/config/variables.ts'

const help = configHelp()
const lines = help.split('\n')

t.test('every variable is named at the start of a line', async (t) => {
  for (const { env } of variablesOf(ConfigSchema.properties)) {
    t.ok(lines.some((line) => line.split(', ').includes(env)), env)
  }
})

t.test('a block gives the names, the default and the meaning, with the Markdown taken out', async (t) => {
  t.match(help, /^PORT, HOST\n {4}default: 3000; 0\.0\.0\.0, but 127\.0\.0\.1 in open development mode \(no secrets\)\n {4}where to listen\n$/m)
  t.match(help, /^NODE_ENV\n {4}default: development\n {4}production requires the secrets and refuses CORS_ORIGINS=\* \(Security\); it\n {4}also turns off \/demo\n/m)
  t.match(help, /^BRIDGE_PUSHER_APP_ID, BRIDGE_PUSHER_KEY, BRIDGE_PUSHER_SECRET\n {4}default: none\n/m)
  t.match(help, /^BRIDGE_WHISPERS\n {4}default: on\n/m)
  t.match(help, /each secret must be at least 32 bytes/)
  t.notMatch(help, /`|\]\(/, 'no backticks, no Markdown links')
})

t.test('lines fit a terminal of 80 columns', async (t) => {
  t.same(lines.filter((line) => line.length > 80), [])
})

t.test('a long meaning wraps under its variable', async (t) => {
  const text = configHelp([{ names: ['BRIDGE_X'], defaultText: '`1`', meaning: `${'word '.repeat(30)}[docs](docs/x.md)` }])
  const block = text.split('\n\n')[1]?.split('\n') ?? []
  t.equal(block[0], 'BRIDGE_X')
  t.equal(block[1], '    default: 1')
  t.ok(block.length >= 4, 'the meaning takes several lines')
  t.ok(block.slice(2).every((line) => line.startsWith('    ') && line.length <= 80))
  t.match(block.at(-1), /^ {4}(word )*docs$/, 'the link keeps its text only')
})
