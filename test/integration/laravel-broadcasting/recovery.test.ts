// Events of Laravel's broadcasters enter the same delivery as the HTTP API's publishes, so a client
// away for a moment recovers them as it recovers those.
import t from 'tap'
import { connectClient, metricValue, recordEvents, startBridge, subscribe, waitFor } from '../../helpers/bridge.ts'
import { laravelRedisEnv, publisherFor } from '../../helpers/laravel-redis.ts'
import { pusherClient, pusherEnv } from '../../helpers/pusher.ts'
import { dropConnection, eventsArrived, reconnect } from '../../helpers/recovery.ts'

// Several bridges, Redis servers or PHP runs: more than the default 60 s on a machine busy with other suites.
t.setTimeout(180_000)

t.test('a client that drops and comes back recovers what the Pusher API and the redis broadcaster published meanwhile', async (t) => {
  const laravel = laravelRedisEnv()
  const { fastify, url } = await startBridge(t, { ...pusherEnv(), ...laravel })
  const client = await connectClient(t, url, { reconnection: false })
  await subscribe(client, 'orders.1')
  const received = recordEvents(client)

  await dropConnection(client, fastify)
  // Room orders.1 is the channel private-orders.1.
  await pusherClient(url).trigger('private-orders.1', 'OrderShipped', { via: 'pusher' })
  const publish = await publisherFor(t, laravel.BRIDGE_LARAVEL_REDIS_PREFIX)
  await publish('private-orders.1', { event: 'OrderPaid', data: { via: 'redis', socket: null }, socket: null })
  // Nothing announces that the bridge has taken the broadcast from Redis but its metrics.
  await waitFor(async () => metricValue(await (await fetch(`${url}/metrics`)).text(), 'bridge_laravel_redis_messages_total{outcome="published"}') === 1,
    'the broadcast to be published')

  await reconnect(client)
  t.ok(client.recovered, 'the session was recovered')
  await eventsArrived(client, received, 2)
  t.same(received.map(({ event, data }) => [event, data]), [
    ['OrderShipped', { via: 'pusher' }],
    ['OrderPaid', { via: 'redis' }]
  ])
})
