// A node killed (SIGKILL) with publishes in flight leaves no claim without its event: each
// publish it had not answered, retried on another node, is either delivered now or was delivered
// already, and a retry answered as a duplicate is one whose event reached the subscribers.
import t from 'tap'
import { postJson } from '../../helpers/bridge.ts'
import { retriedAfterCrashes } from '../../helpers/publish-crash.ts'
import { clusterEnv } from '../../helpers/redis.ts'

t.setTimeout(180_000)

t.test('publishes in flight on a killed node, retried on another, are each delivered, and a duplicate only when delivered', async (t) => {
  await retriedAfterCrashes(t, clusterEnv(t), async (url, body) => ({ status: (await postJson(url, '/api/sms/new-message', body)).status, refused: 0 }))
})
