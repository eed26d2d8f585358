// GET /apps/:app_id/channels/:channel/users: a presence channel's members (Pusher HTTP API).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { isPresenceChannel } from '../../src/broadcasting/pusher-api.ts'
import { PusherBadRequest } from '../../src/http/errors.ts'
import { PusherChannelParams, pusherErrors, UsersAnswer, UsersQuery } from '../../src/schemas/pusher.ts'

const route: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/:app_id/channels/:channel/users', {
    schema: {
      tags: ['pusher'],
      summary: 'A presence channel\'s members (Pusher HTTP API)',
      description: 'The users in a presence channel on every node, one entry per user however many sockets they ' +
        'have there (`$pusher->getPresenceUsers(\'presence-chat.1\')`). Other channels have no members: 400.',
      operationId: 'pusherChannelUsers',
      params: PusherChannelParams,
      querystring: UsersQuery,
      response: {
        200: { ...UsersAnswer, description: 'The members' },
        ...pusherErrors
      }
    }
  }, async (request) => {
    const { channel } = request.params
    if (!isPresenceChannel(channel)) throw new PusherBadRequest('users are only available for presence channels')
    const members = await fastify.transport.presence.members(channel)
    return { users: members.map((member) => ({ id: String(member.user_id) })) }
  })
}

export default route
