// GET /apps/:app_id/channels: the occupied channels, across the cluster (Pusher HTTP API).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { channelAttributes, wantedAttributes } from '../../src/broadcasting/pusher-api.ts'
import { PusherBadRequest } from '../../src/http/errors.ts'
import { ChannelsAnswer, ChannelsQuery, PusherAppParams, pusherErrors } from '../../src/schemas/pusher.ts'

const route: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/:app_id/channels', {
    schema: {
      tags: ['pusher'],
      summary: 'List occupied channels (Pusher HTTP API)',
      description: 'Every channel with at least one subscribed socket on any node (Echo channels and the bridge\'s rooms ' +
        'alike: room `R` is the channel `private-R`, counted with Echo\'s subscribers of it), ' +
        'as `$pusher->getChannels([\'filter_by_prefix\' => \'presence-\', \'info\' => \'user_count\'])` asks for it. ' +
        '`info=user_count` needs `filter_by_prefix=presence-`, as on Pusher.',
      operationId: 'pusherChannels',
      params: PusherAppParams,
      querystring: ChannelsQuery,
      response: {
        200: { ...ChannelsAnswer, description: 'The occupied channels, by name' },
        ...pusherErrors
      }
    }
  }, async (request) => {
    const { filter_by_prefix: prefix = '', info } = request.query
    const wanted = wantedAttributes(info)
    if (wanted.userCount && !prefix.startsWith('presence-')) {
      throw new PusherBadRequest('info=user_count is only available for presence channels: add filter_by_prefix=presence-')
    }
    const listed = await fastify.transport.channels(prefix)
    const channels = await Promise.all(listed.map(async ({ name, subscribers }) => {
      const attributes = await channelAttributes(fastify.transport, name, { ...wanted, subscriptionCount: false })
      return [name, wanted.subscriptionCount ? { ...attributes, subscription_count: subscribers } : attributes] as const
    }))
    return { channels: Object.fromEntries(channels) }
  })
}

export default route
