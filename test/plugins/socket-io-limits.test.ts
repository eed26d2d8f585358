// Clients only send small subscribe messages: an oversized one drops that client, nobody else.
import t from 'tap'
import { connectClient, nextEvent, postJson, secrets, securedEnv, socketToken, startBridge, subscribe } from '../helper.ts'

t.test('a 100 kB message disconnects its sender; other sockets keep receiving', async (t) => {
  const { url } = await startBridge(t, securedEnv({ BRIDGE_API_SIGNING_SECRET: '' }))
  const token = socketToken({ sub: 'user-1', rooms: ['chat_*'] })
  const bystander = await connectClient(t, url, { auth: { token } })
  t.same(await subscribe(bystander, 'chat_1'), { ok: true, room: 'chat_1' })

  const sender = await connectClient(t, url, { auth: { token } })
  const outcome = new Promise<string>((resolve) => {
    sender.once('disconnect', resolve)
    sender.emit('subscribe', { room: 'x'.repeat(100_000) }, () => resolve('answered: the message was read'))
  })
  t.equal(await outcome, 'transport close')

  const arrived = nextEvent(bystander, 'new_message')
  const answer = await postJson(url, '/api/sms/new-message', { room: 'chat_1', message: { text: 'still here' } },
    { authorization: `Bearer ${secrets.apiToken}` })
  t.equal(answer.status, 202)
  t.match(await arrived, { message: { text: 'still here' } })
})
