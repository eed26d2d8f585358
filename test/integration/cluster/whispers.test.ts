// Whispers in a cluster are ephemeral: they reach the channel's Echo sockets on every node
// (never the sender) and leave nothing in Redis, neither in the stream nor anywhere else, as
// MONITOR on a Redis of the test's own shows.
import t from 'tap'
import { securedEnv, socketToken, startBridge } from '../../helpers/bridge.ts'
import { answerTo, connectEcho, recordAll, type EchoClient } from '../../helpers/echo.ts'
import { clusterEnv, privateRedis, redisClient } from '../../helpers/redis.ts'

t.setTimeout(120_000)

const token = (sub: string) => socketToken({ sub, rooms: ['private-chat.*'] })

function whisperTo (echo: EchoClient, channel: string, name: string): Promise<unknown> {
  return new Promise((resolve) => echo.private(channel).listenForWhisper(name, resolve))
}

t.test('a whisper crosses nodes over pub/sub and is stored nowhere in Redis', async (t) => {
  const redis = await privateRedis(t)
  const env = securedEnv(clusterEnv(t, redis.url))
  const a = await startBridge(t, env)
  const b = await startBridge(t, env)
  const ann = await connectEcho(t, a.url, { bearerToken: token('ann') })
  const cid = await connectEcho(t, a.url, { bearerToken: token('cid') })
  const bob = await connectEcho(t, b.url, { bearerToken: token('bob') })
  for (const echo of [ann, cid, bob]) {
    echo.private('chat.1')
    t.equal(await answerTo(echo, 'private-chat.1'), 'ok')
  }
  const annSeen = recordAll(ann)

  // Every command Redis runs from here on.
  const monitor = await redisClient(t, redis.url)
  const commands: string[] = []
  await monitor.monitor((line) => { commands.push(String(line)) })

  const onB = whisperTo(bob, 'chat.1', 'typing')
  const onA = whisperTo(cid, 'chat.1', 'typing')
  ann.private('chat.1').whisper('typing', { secret: 'whisper-7f3a' })
  t.same(await onB, { secret: 'whisper-7f3a' }, 'the other node\'s socket got it')
  t.same(await onA, { secret: 'whisper-7f3a' }, 'the sender\'s node\'s other socket got it')

  // A second whisper: once Bob has it, MONITOR has shown every command sent before it.
  const done = new Promise((resolve) => bob.private('chat.1').listenForWhisper('done', resolve))
  cid.private('chat.1').whisper('done', {})
  await done
  const carrying = commands.filter((command) => command.includes('whisper-7f3a'))
  t.equal(carrying.length, 1, 'one command carried it')
  t.match(carrying[0], /"PUBLISH" ".+ephemeral"/, 'a PUBLISH, outside the stream')
  t.notOk(commands.some((command) => command.includes('XADD') && command.includes('client-typing')), 'no XADD of it')
  const entries = await (await redisClient(t, redis.url)).xRange(`${env.BRIDGE_REDIS_PREFIX}bus`, '-', '+') ?? []
  t.ok(entries.length > 0, 'the stream is there')
  t.notOk(entries.some(({ message }) => JSON.stringify(message).includes('client-')), 'it holds no whisper')
  t.same(annSeen.filter(({ event }) => event === 'client-typing'), [], 'the sender got nothing back')
})
