// The real entry point in cluster mode: an unreachable Redis stops the start with a clear
// line; a normal start serves, and SIGTERM closes its Redis connections before exiting 0.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { freePort } from '../../helpers/bridge.ts'
import { clusterEnv, redisClient } from '../../helpers/redis.ts'

const root = fileURLToPath(new URL('../../..', import.meta.url))
// Each test starts a real process (compiling TypeScript on the way) and one waits out the
// Redis start deadline: generous on a busy machine.
t.setTimeout(180_000)

function startServer (env: Record<string, string>) {
  const child = spawn(process.execPath, ['src/server.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'development', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk })
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk })
  t.teardown(() => { child.kill('SIGKILL') })
  return { child, output: () => ({ stdout, stderr }) }
}

function logLines (stdout: string): Array<Record<string, unknown>> {
  return stdout.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>)
}

t.test('an unreachable Redis stops the start with a clear message and exit code 1', async (t) => {
  const deadPort = await freePort()
  const { child, output } = startServer({
    PORT: String(await freePort()),
    REDIS_URL: `redis://user:secret-password@127.0.0.1:${deadPort}/0`
  })
  const [code] = await once(child, 'exit')
  t.equal(code, 1)
  const fatal = logLines(output().stdout).find((line) => line.level === 60)
  t.match(fatal?.msg, new RegExp(`^could not start: cluster mode: Redis at redis://127\\.0\\.0\\.1:${deadPort}/0 is unreachable \\(.*ECONNREFUSED.*\\)`))
  t.notMatch(output().stdout + output().stderr, /secret-password/, 'the password is never printed')
  t.notMatch(output().stdout, /Server listening/, 'it never listened')
})

t.test('in cluster mode it starts, publishes through Redis, and SIGTERM closes Redis cleanly', async (t) => {
  const env = clusterEnv(t)
  const redis = await redisClient(t)
  const port = await freePort()
  const { child, output } = startServer({ ...env, PORT: String(port) })
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', () => { if (output().stdout.includes('Server listening')) resolve() })
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${output().stderr}`)))
  })

  const bridgeConnections = async () => (await redis.clientList()).filter((client) => client.name.startsWith(env.BRIDGE_REDIS_PREFIX))
  t.ok((await bridgeConnections()).length >= 3, 'its own connection and the adapter\'s are open')
  t.equal((await fetch(`http://127.0.0.1:${port}/ready`)).status, 200)
  const response = await fetch(`http://127.0.0.1:${port}/api/sms/new-message`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ room: 'chat_1', message: { text: 'hi' }, uuid: 'through-redis' })
  })
  t.equal(response.status, 202)
  t.ok(await redis.xLen(`${env.BRIDGE_REDIS_PREFIX}bus`) > 0, 'the event went through the Redis stream')

  const exited = once(child, 'exit')
  child.kill('SIGTERM')
  const [code] = await exited
  t.equal(code, 0)
  t.same(await bridgeConnections(), [], 'no connection of the bridge is left in Redis')
  t.ok(logLines(output().stdout).some((line) => line.msg === 'cluster mode: connected to Redis'))
})
