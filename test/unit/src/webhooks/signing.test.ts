// The webhook signature and body as Pusher's SDKs check them.
import { createHmac } from 'node:crypto'
import t from 'tap'
import { webhookBody, webhookSignature } from '../../../../src/webhooks/signing.ts'

t.test('hex HMAC-SHA256 of the exact body with the app secret; the body is time_ms then events', async (t) => {
  const body = webhookBody(1700000000123, [{ name: 'member_added', channel: 'presence-room', user_id: '42' }])
  t.equal(body, '{"time_ms":1700000000123,"events":[{"name":"member_added","channel":"presence-room","user_id":"42"}]}')
  const signature = webhookSignature('app-secret', body)
  t.match(signature, /^[0-9a-f]{64}$/)
  t.equal(signature, createHmac('sha256', 'app-secret').update(Buffer.from(body)).digest('hex'))
  t.not(webhookSignature('other-secret', body), signature, 'another secret signs differently')
  t.not(webhookSignature('app-secret', body.replace('42', '43')), signature, 'another body signs differently')
})
