// GET /api/rooms/:room: how many sockets and users are in a room, counted on every node, so
// the backend can fall back to a push notification when nobody is online.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { errorResponse } from '../../../src/schemas/answers.ts'
import { RoomInfo, RoomParams } from '../../../src/schemas/room-info.ts'
import { roomChannel } from '../../../src/channels/names.ts'

const route: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/:room', {
    schema: {
      tags: ['rooms'],
      summary: 'Who is in a room',
      description: 'Counts the sockets subscribed to `room` (subscribers of the room and Laravel Echo\'s subscribers ' +
        'of its private channel `private-{room}`: one audience) and the distinct users (token `sub`, or an Echo socket\'s presence member) behind ' +
        'them, on every node of the cluster. A room nobody is in answers `0`, never 404: when ' +
        '`users` is 0, nobody would see a socket.io event, so it is time for a push notification.',
      operationId: 'roomInfo',
      params: RoomParams,
      response: {
        200: { ...RoomInfo, description: 'The room\'s subscribers and users right now' },
        400: errorResponse(400, 'The room name breaks the room rules', 'params/room is invalid: Room name: 1-128 characters of A-Z a-z 0-9 _ - . : @', 'FST_ERR_VALIDATION'),
        503: errorResponse(503, 'Cluster mode: Redis is unreachable or a node did not answer in time; retry later', 'Redis is unreachable (cluster mode); the room cannot be counted, retry later', 'BRIDGE_REDIS_UNAVAILABLE')
      }
    }
  }, async (request) => {
    const { room } = request.params
    return { room, ...await fastify.transport.channelCount(roomChannel(room)) }
  })
}

export default route
