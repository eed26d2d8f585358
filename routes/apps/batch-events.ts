// POST /apps/:app_id/batch_events: Pusher's batch trigger, 1-100 events delivered all or nothing, in order.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { batchDeliveries, channelAttributes, wantedAttributes } from '../../src/broadcasting/pusher-api.ts'
import { BatchAnswer, BatchRequest, PusherAppParams, pusherErrors, TriggerQuery } from '../../src/schemas/pusher.ts'

const route: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.post('/:app_id/batch_events', {
    schema: {
      tags: ['pusher'],
      summary: 'Trigger several events (Pusher HTTP API)',
      description: 'Pusher\'s batch trigger (`$pusher->triggerBatch()`, `pusher.triggerBatch()`): each item is one ' +
        'event to one channel, delivered like `POST /apps/{app_id}/events`. The whole batch is checked before anything is ' +
        'delivered, and delivered all or nothing, in order. Answers one entry per item: `{}`, or the attributes its `info` asks for.',
      operationId: 'pusherTriggerBatch',
      params: PusherAppParams,
      querystring: TriggerQuery,
      body: BatchRequest,
      response: {
        200: { ...BatchAnswer, description: 'Delivered, every item' },
        ...pusherErrors
      }
    }
  }, async (request) => {
    const { batch } = request.body
    await fastify.publisher.publish(batchDeliveries(batch), request.log, 'pusher')
    return {
      batch: await Promise.all(batch.map(async ({ channel, info }) =>
        info === undefined ? {} : await channelAttributes(fastify.transport, channel, wantedAttributes(info))))
    }
  })
}

export default route
