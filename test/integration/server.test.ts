// The real entry point as a process: it serves on defaults, and bad config stops it cleanly.
import { once } from 'node:events'
import t from 'tap'
import { freePort, startServer } from '../helpers/bridge.ts'

t.test('an invalid value stops the start with one line and a non-zero exit', async (t) => {
  for (const [name, value] of [['PORT', 'eighty'], ['LOG_LEVEL', 'chatty'], ['BRIDGE_BODY_LIMIT', '-5']]) {
    const { child, output } = startServer({ [name as string]: value as string })
    const [code] = await once(child, 'exit')
    t.equal(code, 1, `${name}=${value} exits 1`)
    const lines = output().stderr.trim().split('\n')
    t.equal(lines.length, 1, 'one line')
    t.match(lines[0], new RegExp(`^bridge: invalid configuration: ${name} `))
  }
})

t.test('with defaults it starts, serves publishes and stops on SIGTERM', async (t) => {
  const port = await freePort()
  const { child, output } = startServer({ PORT: String(port), HOST: '127.0.0.1' })
  t.teardown(() => { child.kill('SIGKILL') })

  // Wait for the "listening" log line rather than polling the port.
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', () => { if (output().stdout.includes('Server listening')) resolve() })
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${output().stderr}`)))
  })

  const response = await fetch(`http://127.0.0.1:${port}/api/sms/new-message`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ room: 'chat_1', message: { text: 'hi' }, uuid: 'from-test' })
  })
  t.equal(response.status, 202)

  const exited = once(child, 'exit')
  child.kill('SIGTERM')
  const [code] = await exited
  t.equal(code, 0)

  const logs = output().stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>)
  t.ok(logs.some((line) => line.msg === 'published' && line.event === 'new_message' && line.room === 'chat_1' && line.uuid === 'from-test'),
    'one JSON log line per publish with event, room and uuid')
})
