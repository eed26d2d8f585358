// The webhook collector: the changes one bus entry caused, filtered by BRIDGE_WEBHOOK_EVENTS,
// appended under that entry's position.
import t from 'tap'
import type { Position } from '../../../../src/backplane/positions.ts'
import { createWebhookCollector, type WebhookEvent, type WebhookEventName } from '../../../../src/webhooks/events.ts'

function collector (names: WebhookEventName[]) {
  const appended: Array<[Position, WebhookEvent[]]> = []
  return { appended, webhooks: createWebhookCollector(new Set(names), (position, events) => appended.push([position, events])) }
}

t.test('what one entry caused goes out under its position, in order; nothing for an entry that changed nothing', async (t) => {
  const { appended, webhooks } = collector(['channel_occupied', 'channel_vacated', 'member_added', 'member_removed'])
  webhooks.occupied('presence-a')
  webhooks.member('presence-a', '7', true)
  webhooks.applied([1, 2, 0])
  webhooks.applied([1, 3, 0])
  webhooks.member('presence-a', '7', false)
  webhooks.vacated('presence-a')
  webhooks.applied([1, 4, 0])
  t.same(appended, [
    [[1, 2, 0], [{ name: 'channel_occupied', channel: 'presence-a' }, { name: 'member_added', channel: 'presence-a', user_id: '7' }]],
    [[1, 4, 0], [{ name: 'member_removed', channel: 'presence-a', user_id: '7' }, { name: 'channel_vacated', channel: 'presence-a' }]]
  ])
  t.ok(webhooks.enabled)
  t.notOk(webhooks.wantsClientEvents, 'client_event is not in the default set')
})

t.test('only the listed events; client events carry the data as JSON text and the user only when known', async (t) => {
  const { appended, webhooks } = collector(['client_event'])
  webhooks.occupied('private-a')
  webhooks.clientEvents([
    { channel: 'private-a', event: 'client-typing', data: '{"on":true}', socketId: '1.2' },
    { channel: 'presence-b', event: 'client-typing', data: 'null', socketId: '3.4', userId: '9' }
  ])
  webhooks.applied([0, 1, 0])
  t.same(appended, [[[0, 1, 0], [
    { name: 'client_event', channel: 'private-a', event: 'client-typing', data: '{"on":true}', socket_id: '1.2' },
    { name: 'client_event', channel: 'presence-b', event: 'client-typing', data: 'null', socket_id: '3.4', user_id: '9' }
  ]]])
  const off = collector([])
  off.webhooks.occupied('private-a')
  off.webhooks.applied([0, 1, 0])
  t.notOk(off.webhooks.enabled, 'no webhook URL: nothing enabled')
  t.same(off.appended, [])
})
