// Laravel Echo on two (or three) bridges sharing one Redis: presence and whispers across nodes,
// one member per user whichever nodes their tabs are on, and a killed node's members leave.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import type { Env } from '../../../src/config/index.ts'
import { freePort, postJson, securedEnv, signedHeaders, socketToken, startBridge } from '../../helpers/bridge.ts'
import { answerTo, connectEcho, nextOn, publishSigned, recordAll, socketOf, type EchoClient } from '../../helpers/echo.ts'
import { clusterEnv } from '../../helpers/redis.ts'

const root = fileURLToPath(new URL('../../..', import.meta.url))
t.setTimeout(180_000)

const rooms = ['presence-room.*', 'private-chat.*']
const token = (sub: string, name: string) => socketToken({ sub, rooms, user_info: { name } })
const member = (sub: string, name: string) => ({ user_id: sub, user_info: { name } })
const byId = (members: unknown) => [...members as Array<{ user_id: string }>].sort((a, b) => a.user_id.localeCompare(b.user_id))

async function twoNodes (t: Test) {
  const env = securedEnv(clusterEnv(t))
  return [await startBridge(t, env), await startBridge(t, env)] as const
}

async function join (echo: EchoClient, channel: string): Promise<unknown> {
  const members = nextOn(echo, 'presence:subscribed', `presence-${channel}`)
  echo.join(channel)
  return await members
}

t.test('presence across nodes: every member on join, joining and leaving from the other node', async (t) => {
  const [a, b] = await twoNodes(t)
  const ann = await connectEcho(t, a.url, { bearerToken: token('ann', 'Ann') })
  const bob = await connectEcho(t, b.url, { bearerToken: token('bob', 'Bob') })
  t.same(await join(ann, 'room.1'), [member('ann', 'Ann')])
  const annSees = nextOn(ann, 'presence:joining', 'presence-room.1')
  t.same(byId(await join(bob, 'room.1')), [member('ann', 'Ann'), member('bob', 'Bob')], 'Bob, on node B, is told of Ann on node A')
  t.same(await annSees, member('bob', 'Bob'), 'Ann, on node A, is told Bob joined on node B')
  const annSeesLeaving = nextOn(ann, 'presence:leaving', 'presence-room.1')
  bob.leave('room.1')
  t.same(await annSeesLeaving, member('bob', 'Bob'))
})

t.test('one member per user whichever nodes their tabs are on', async (t) => {
  const [a, b] = await twoNodes(t)
  const watcher = await connectEcho(t, a.url, { bearerToken: token('watcher', 'W') })
  await join(watcher, 'room.2')
  const seen = recordAll(watcher)
  const annOnA = await connectEcho(t, a.url, { bearerToken: token('ann', 'Ann') })
  const annOnB = await connectEcho(t, b.url, { bearerToken: token('ann', 'Ann') })
  // Her joining is announced once its hold (a second) is over; she leaves after that.
  const joining = nextOn(watcher, 'presence:joining', 'presence-room.2')
  await join(annOnA, 'room.2')
  t.same(byId(await join(annOnB, 'room.2')), [member('ann', 'Ann'), member('watcher', 'W')], 'Ann\'s second tab, on node B: still one Ann')
  await joining
  annOnA.disconnect()
  const leaving = nextOn(watcher, 'presence:leaving', 'presence-room.2')
  annOnB.leave('room.2')
  t.same(await leaving, member('ann', 'Ann'), 'Ann leaves with her last tab, on the other node')
  t.same(seen.filter(({ event }) => event.startsWith('presence:')).map(({ event }) => event), ['presence:joining', 'presence:leaving'],
    'one joining, one leaving, for two tabs on two nodes')
})

t.test('whispers reach the channel\'s sockets on the other node, never the sender', async (t) => {
  const [a, b] = await twoNodes(t)
  const ann = await connectEcho(t, a.url, { bearerToken: token('ann', 'Ann') })
  const bob = await connectEcho(t, b.url, { bearerToken: token('bob', 'Bob') })
  ann.private('chat.1')
  bob.private('chat.1')
  t.equal(await answerTo(ann, 'private-chat.1'), 'ok')
  t.equal(await answerTo(bob, 'private-chat.1'), 'ok')
  const annSeen = recordAll(ann)
  const typing = new Promise((resolve) => bob.private('chat.1').listenForWhisper('typing', resolve))
  ann.private('chat.1').whisper('typing', { from: 'Ann' })
  t.same(await typing, { from: 'Ann' })
  const back = new Promise((resolve) => ann.private('chat.1').listenForWhisper('typing', resolve))
  bob.private('chat.1').whisper('typing', { from: 'Bob' })
  t.same(await back, { from: 'Bob' })
  t.same(annSeen.filter(({ event }) => event === 'client-typing').map(({ args }) => args[1]), [{ from: 'Bob' }], 'Ann only got Bob\'s')
})

t.test('a publish to room R on one node reaches Echo subscribers of private-R on both, once each', async (t) => {
  const [a, b] = await twoNodes(t)
  const onA = await connectEcho(t, a.url, { bearerToken: token('ann', 'Ann') })
  const onB = await connectEcho(t, b.url, { bearerToken: token('bob', 'Bob') })
  for (const echo of [onA, onB]) {
    echo.private('chat.5')
    t.equal(await answerTo(echo, 'private-chat.5'), 'ok')
  }
  const seenA = recordAll(onA)
  const seenB = recordAll(onB)
  const last = Promise.all([onA, onB].map((echo) => nextOn(echo, 'status_update', 'private-chat.5')))
  await publishSigned(a.url, { room: 'chat.5', message: { text: 'once' } })
  await publishSignedStatus(b.url)
  await last
  for (const seen of [seenA, seenB]) t.same(seen.map(({ event }) => event), ['new_message', 'status_update'])
})

async function publishSignedStatus (url: string) {
  const body = { room: 'chat.5', messageId: 1, status: 'read' }
  await postJson(url, '/api/sms/status-update', body, signedHeaders(JSON.stringify(body), { url: '/api/sms/status-update' }))
}

/** A bridge as its own process (src/server.ts), to be killed as a crash would. */
async function bridgeProcess (t: Test, env: Env): Promise<{ url: string, kill: () => void }> {
  const port = await freePort()
  const child = spawn(process.execPath, ['src/server.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'development', HOST: '127.0.0.1', PORT: String(port), ...env } as Record<string, string>,
    stdio: ['ignore', 'pipe', 'pipe']
  })
  t.teardown(() => { child.kill('SIGKILL') })
  let stdout = ''
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk
      if (stdout.includes('Server listening')) resolve()
    })
    child.once('exit', (code) => reject(new Error(`the bridge exited ${code}`)))
  })
  return { url: `http://127.0.0.1:${port}`, kill: () => child.kill('SIGKILL') }
}

t.test('a killed node\'s members leave, for the sockets on the nodes still alive', async (t) => {
  const env = securedEnv(clusterEnv(t))
  const alive = await startBridge(t, env)
  const doomed = await bridgeProcess(t, env)
  const watcher = await connectEcho(t, alive.url, { bearerToken: token('watcher', 'W') })
  await join(watcher, 'room.3')
  const bob = await connectEcho(t, doomed.url, { bearerToken: token('bob', 'Bob') })
  t.same(byId(await join(bob, 'room.3')), [member('bob', 'Bob'), member('watcher', 'W')])

  const leaving = nextOn(watcher, 'presence:leaving', 'presence-room.3', 30_000)
  doomed.kill()
  t.same(await leaving, member('bob', 'Bob'), 'Bob leaves once his node is known dead (within the heartbeat)')
  const newcomer = await connectEcho(t, alive.url, { bearerToken: token('carol', 'Carol') })
  t.same(byId(await join(newcomer, 'room.3')), [member('carol', 'Carol'), member('watcher', 'W')], 'no ghost of Bob in the member list')
  t.ok(socketOf(watcher).connected)
})
