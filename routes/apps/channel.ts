// GET /apps/:app_id/channels/:channel: whether a channel is occupied, across the cluster (Pusher HTTP API).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { isPresenceChannel, wantedAttributes } from '../../src/broadcasting/pusher-api.ts'
import { PusherBadRequest } from '../../src/http/errors.ts'
import { ChannelAnswer, ChannelQuery, PusherChannelParams, pusherErrors } from '../../src/schemas/pusher.ts'

const route: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/:app_id/channels/:channel', {
    schema: {
      tags: ['pusher'],
      summary: 'One channel\'s state (Pusher HTTP API)',
      description: 'Whether any socket on any node is subscribed to the channel (for `private-R`, the subscribers of the ' +
        'bridge\'s room `R` count too), and with `info` how many ' +
        '(`subscription_count`) and, for a presence channel, how many distinct members (`user_count`): ' +
        '`$pusher->getChannelInfo(\'presence-chat.1\', [\'info\' => \'user_count,subscription_count\'])`.',
      operationId: 'pusherChannel',
      params: PusherChannelParams,
      querystring: ChannelQuery,
      response: {
        200: { ...ChannelAnswer, description: 'The channel right now' },
        ...pusherErrors
      }
    }
  }, async (request) => {
    const { channel } = request.params
    const wanted = wantedAttributes(request.query.info)
    if (wanted.userCount && !isPresenceChannel(channel)) {
      throw new PusherBadRequest('info=user_count is only available for presence channels')
    }
    const { subscribers } = await fastify.transport.channelCount(channel)
    return {
      occupied: subscribers > 0,
      ...(wanted.subscriptionCount && { subscription_count: subscribers }),
      ...(wanted.userCount && { user_count: (await fastify.transport.presence.members(channel)).length })
    }
  })
}

export default route
