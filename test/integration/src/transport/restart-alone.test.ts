// A bridge alone (no Redis) keeps its sessions in its memory: restarted, whether stopped or
// killed, it restores none, and a client back on it is told so (`recovered === false`), never a
// `true` over what it missed.
import { once } from 'node:events'
import t from 'tap'
import { connectClient, freePort, nextEvent, postJson, recordEvents, startServer, subscribe } from '../../../helpers/bridge.ts'
import { reconnect } from '../../../helpers/recovery.ts'

// Four starts of a bridge process on a machine that may be busy: more than the default minute.
t.setTimeout(120_000)

for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
  t.test(`a bridge alone, restarted on the same port after ${signal}, restores no session: recovered === false`, async (t) => {
    const port = await freePort()
    const url = `http://127.0.0.1:${port}`
    const start = async () => {
      const bridge = startServer({ PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info' })
      t.teardown(() => { bridge.child.kill('SIGKILL') })
      await bridge.logLine('Server listening')
      return bridge
    }
    const first = await start()
    const client = await connectClient(t, url)
    await subscribe(client, 'chat_alone')
    const before = nextEvent(client, 'new_message')
    await postJson(url, '/api/sms/new-message', { room: 'chat_alone', message: { n: 0 } })
    await before

    const dropped = new Promise((resolve) => client.once('disconnect', resolve))
    first.child.kill(signal)
    await Promise.all([dropped, once(first.child, 'exit')])
    await start()
    const received = recordEvents(client)
    await reconnect(client)
    t.equal(client.recovered, false, 'told that nothing was recovered')

    // A fresh session: not in its old room until it subscribes again.
    t.equal((await postJson(url, '/api/sms/new-message', { room: 'chat_alone', message: { n: 1 } })).status, 202)
    await subscribe(client, 'chat_alone')
    const after = nextEvent(client, 'new_message')
    await postJson(url, '/api/sms/new-message', { room: 'chat_alone', message: { n: 2 } })
    await after
    t.same(received.filter(({ event }) => event === 'new_message').map(({ data }) => (data as { message: { n: number } }).message.n), [2],
      'only what was published after it subscribed again')
  })
}
