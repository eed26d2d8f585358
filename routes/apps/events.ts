// POST /apps/:app_id/events: Pusher's trigger, what Laravel's `pusher` broadcaster calls for
// each broadcast event. The event goes to every subscriber of each channel, but `socket_id`.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { channelAttributes, triggerDeliveries, wantedAttributes } from '../../src/broadcasting/pusher-api.ts'
import { PusherAppParams, pusherErrors, TriggerAnswer, TriggerQuery, TriggerRequest } from '../../src/schemas/pusher.ts'

const route: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.post('/:app_id/events', {
    schema: {
      tags: ['pusher'],
      summary: 'Trigger an event (Pusher HTTP API)',
      description: 'What Laravel\'s `pusher` broadcaster sends for `broadcast(new OrderShipped($order))`: with ' +
        '`BROADCAST_CONNECTION=pusher` and `PUSHER_HOST`/`PUSHER_PORT` pointing at the bridge, no PHP code changes. ' +
        'The event reaches every socket subscribed to each channel, on every node: Echo listeners as ' +
        '`(name, channel, data)` (`Echo.channel(\'orders\').listen(\'OrderShipped\', (data) => …)`) and, for a ' +
        'channel `private-R`, the subscribers of the bridge\'s room `R` as `socket.on(name, (data) => …)` (one audience; ' +
        'a public channel never reaches a room). `socket_id` (`->toOthers()`) is left out.\n\n' +
        'Sign it as Pusher\'s server SDKs do (see `auth_signature`); answers `{}`, or the channels\' attributes ' +
        'when `info` asks for them.',
      operationId: 'pusherTrigger',
      params: PusherAppParams,
      querystring: TriggerQuery,
      body: TriggerRequest,
      response: {
        200: { ...TriggerAnswer, description: 'Delivered (handed on to every node)' },
        ...pusherErrors
      }
    }
  }, async (request) => {
    const { body } = request
    const deliveries = triggerDeliveries(body)
    await fastify.publisher.publish(deliveries, request.log, 'pusher')
    if (body.info === undefined) return {}
    const wanted = wantedAttributes(body.info)
    const channels = await Promise.all(deliveries.map(async ({ channel }) =>
      [channel, await channelAttributes(fastify.transport, channel, wanted)] as const))
    return { channels: Object.fromEntries(channels) }
  })
}

export default route
