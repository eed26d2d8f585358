// GET /api/rooms/{room}: who is in a room right now, across the cluster.
import { Type, type Static } from 'typebox'
import { Room } from './fields.ts'

export const RoomParams = Type.Object({ room: Room })

export const RoomInfo = Type.Object({
  room: Room,
  subscribers: Type.Integer({
    minimum: 0,
    description: 'Sockets subscribed to the room or to Laravel Echo\'s `private-{room}` (one audience), on every node',
    examples: [3]
  }),
  users: Type.Integer({
    minimum: 0,
    description: 'Distinct users among them (token `sub`, or the presence member Laravel authorized an Echo socket as, counted as the Pusher API counts user_count); a socket without a user counts as a subscriber only',
    examples: [2]
  })
}, { title: 'RoomInfo' })

export type RoomInfo = Static<typeof RoomInfo>
