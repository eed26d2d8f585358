// Refused browser origins: named once a minute each, and a flood of made-up ones costs a line a second.
import t from 'tap'
import { createOriginPolicy } from '../../../../src/http/origins.ts'

function recorder () {
  const lines: Array<Record<string, unknown>> = []
  return { lines, log: { warn: (details: object, msg: string) => { lines.push({ ...details, msg }) } } }
}

t.test('one line per origin a minute, the next carrying how many were not logged', async (t) => {
  let now = 0
  const { lines, log } = recorder()
  const policy = createOriginPolicy(['https://app.example.com'], log as never, () => now)
  t.ok(policy.allows('https://app.example.com'))
  t.ok(policy.allows(undefined), 'no Origin: not a browser')
  t.notOk(policy.allows('https://evil.example.com'))
  t.ok(policy.credentials)
  policy.refused('https://evil.example.com', 'socket.io')
  now = 30_000
  policy.refused('https://evil.example.com', 'http')
  policy.refused('https://evil.example.com', 'http')
  now = 60_000
  policy.refused('https://evil.example.com', 'http')
  t.same(lines.map(({ origin, path, notLogged }) => ({ origin, path, notLogged })), [
    { origin: 'https://evil.example.com', path: 'socket.io', notLogged: undefined },
    { origin: 'https://evil.example.com', path: 'http', notLogged: 2 }
  ])
})

t.test('distinct origins: at most one line a second in all', async (t) => {
  let now = 0
  const { lines, log } = recorder()
  const policy = createOriginPolicy([], log as never, () => now)
  for (let i = 0; i < 100; i++) policy.refused(`https://site${i}.example`, 'http')
  now = 1000
  policy.refused('https://site5.example', 'http')
  t.same(lines.map(({ origin, otherRefusalsNotLogged }) => ({ origin, otherRefusalsNotLogged })), [
    { origin: 'https://site0.example', otherRefusalsNotLogged: undefined },
    { origin: 'https://site5.example', otherRefusalsNotLogged: 99 }
  ])
})

t.test('any origin (*) never sends credentials', async (t) => {
  const policy = createOriginPolicy(true, recorder().log as never)
  t.notOk(policy.credentials)
  t.ok(policy.allows('https://anything.example'))
})
