// A signed publish is accepted once across a cluster: the claim of its signature is shared
// through Redis (one node: test/unit/plugins/app/publisher-auth.test.ts).
import t, { type Test } from 'tap'
import { clusterEnv } from '../../../helpers/redis.ts'
import {
  postRaw,
  roomListener,
  nextEvent,
  securedEnv,
  signedHeaders,
  startBridge,
  type TestClient
} from '../../../helpers/bridge.ts'

const room = 'chat_auth'

const listener = (t: Test, url: string) => roomListener(t, url, room)
const post = postRaw

/** Sends a signed, accepted event after the refusals: the socket must see it and nothing before it. */
async function assertNothingDelivered (t: Test, url: string, received: Array<{ event: string }>, socket: TestClient) {
  const body = JSON.stringify({ room, uuid: `sentinel-${Math.random()}`, message: { text: 'sentinel' } })
  const arrived = nextEvent(socket, 'new_message')
  t.equal((await post(url, '/api/sms/new-message', body, signedHeaders(body))).status, 202)
  t.match(await arrived, { message: { text: 'sentinel' } })
  t.equal(received.length, 1, 'only the accepted publish reached the room')
}

t.test('cluster: a signed publish replayed to another node is a duplicate there too', async (t) => {
  const env = { ...securedEnv(), ...clusterEnv(t) }
  const a = await startBridge(t, env)
  const b = await startBridge(t, env)
  const { socket, received } = await listener(t, b.url)

  const body = JSON.stringify({ room, message: { text: 'once' } })
  const signed = signedHeaders(body)
  const arrived = nextEvent(socket, 'new_message')
  t.equal((await post(a.url, '/api/sms/new-message', body, signed)).status, 202, 'node A accepts it')
  await arrived
  const replay = await post(b.url, '/api/sms/new-message', body, signed)
  t.equal(replay.status, 200, 'node B answers the replay')
  t.equal(replay.body.duplicate, true)
  received.splice(0, 1)
  await assertNothingDelivered(t, b.url, received, socket)
})
