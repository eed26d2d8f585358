// The benchmark's Pusher publishes must be what the bridge accepts, or its `pusher` row measures 401s.
import t from 'tap'
import { acceptedStatus, eventsSigner, newPusherApp, triggerBody } from '../../../bench/pusher-path.ts'
import { bodyProblem, queryParams, signatureProblem } from '../../../src/auth/pusher-signature.ts'

t.test('a benchmark publish is signed as the bridge checks it, over its exact body', async (t) => {
  const app = newPusherApp()
  const body = triggerBody('pair_1', 'new_message', { message: { id: 1, sentAt: 1 } })
  const url = eventsSigner(app)(body)
  const [path] = url.split('?')
  t.equal(path, `/apps/${app.appId}/events`)
  const params = queryParams(url)
  if (typeof params === 'string') throw new Error(params)
  const now = Math.floor(Date.now() / 1000)
  t.equal(signatureProblem(app, { method: 'POST', path: path as string, params }, now), undefined)
  t.equal(bodyProblem(params, body), undefined)
  t.match(bodyProblem(params, `${body} `), /does not match/, 'another body')
  t.match(signatureProblem({ ...app, secret: 'x'.repeat(64) }, { method: 'POST', path: path as string, params }, now), /Invalid signature/, 'another secret')
})

t.test('the body is what Laravel\'s pusher broadcaster sends: data as a JSON string', async (t) => {
  const body = JSON.parse(triggerBody('pair_1', 'new_message', { message: { id: 1 } }))
  t.same(body, { name: 'new_message', channels: ['pair_1'], data: '{"message":{"id":1}}' })
})

t.test('a Pusher publish is accepted with 200, an /api/sms one with 202', async (t) => {
  t.equal(acceptedStatus({ pusher: newPusherApp() }), 200)
  t.equal(acceptedStatus({}), 202)
})
