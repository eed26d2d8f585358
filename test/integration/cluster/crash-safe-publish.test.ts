// A node killed (SIGKILL) with publishes in flight leaves no claim without its event: each
// publish it had not answered, retried on another node, is either delivered now or was delivered
// already, and a retry answered as a duplicate is one whose event reached the subscribers.
import t from 'tap'
import { connectClient, postJson, recordEvents, startBridge, subscribe, waitFor } from '../../helpers/bridge.ts'
import { killedWhilePublishing } from '../../helpers/publish-crash.ts'
import { clusterEnv } from '../../helpers/redis.ts'

t.setTimeout(180_000)

t.test('publishes in flight on a killed node, retried on another, are each delivered, and a duplicate only when delivered', async (t) => {
  const env = clusterEnv(t)
  const a = await startBridge(t, env)
  const client = await connectClient(t, a.url)
  await subscribe(client, 'chat_crash')
  const received = recordEvents(client)
  const delivered = () => new Set(received.map(({ data }) => (data as { uuid: string }).uuid))

  // Three nodes killed in turn: the moment between claim and append is short.
  let inFlight = 0
  for (const round of [1, 2, 3]) {
    const { sent, unanswered } = await killedWhilePublishing(t, env, round)
    // A kill can land between two requests of every publisher: the rounds together must catch some.
    inFlight += unanswered.length
    // The queue retries each on node A.
    const duplicates: string[] = []
    for (const uuid of unanswered) {
      const retry = await postJson(a.url, '/api/sms/new-message', { room: 'chat_crash', uuid, message: { text: uuid } })
      if (retry.status === 200) duplicates.push(uuid)
      else t.equal(retry.status, 202, `retry of ${uuid} accepted`)
    }
    await waitFor(() => sent.every((uuid) => delivered().has(uuid)), 'every uuid to be delivered', 10_000).catch(() => {})
    t.same(sent.filter((uuid) => !delivered().has(uuid)), [], `round ${round}: every uuid delivered at least once`)
    t.same(duplicates.filter((uuid) => !delivered().has(uuid)), [], `round ${round}: no retry answered duplicate for an event nobody got`)
  }
  t.ok(inFlight > 0, `${inFlight} publishes were in flight when their node died`)
})
