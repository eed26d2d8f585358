// POST /apps/:app_id/users/:user_id/terminate_connections: closes every Pusher-protocol connection
// signed in as that user (`pusher:signin`), on every node, with 4009 so pusher-js stays closed.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { serverToUserChannel, TERMINATE_USER_EVENT } from '../../src/channels/names.ts'
import { PusherUserParams, pusherErrors, TerminateAnswer, UsersQuery } from '../../src/schemas/pusher.ts'

const route: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.post('/:app_id/users/:user_id/terminate_connections', {
    schema: {
      tags: ['pusher'],
      summary: 'Close a user\'s connections (Pusher HTTP API)',
      description: 'What `$pusher->terminateUserConnections($userId)` sends: every Pusher-protocol connection signed in ' +
        'as the user (`pusher:signin`, Echo\'s `signin()`), on every node, is closed with code 4009, after which ' +
        'pusher-js does not reconnect by itself. socket.io connections are not affected. Answers `{}`.',
      operationId: 'pusherTerminateUserConnections',
      params: PusherUserParams,
      querystring: UsersQuery,
      body: Type.Object({}, { description: 'Empty: `{}`' }),
      response: {
        200: TerminateAnswer,
        ...pusherErrors
      }
    }
  }, async (request) => {
    const { user_id: userId } = request.params
    // Through the backplane, as an event of the user's own channel: each node closes its connections there.
    await fastify.transport.deliver([{ channel: serverToUserChannel(userId), event: TERMINATE_USER_EVENT, payload: {}, only: 'echo', ephemeral: true }])
    request.log.info({ userId }, 'Pusher connections of a user terminated')
    return {}
  })
}

export default route
