// What connection authentication does for these tests: puts the client's `sub` on the socket.
import type { FastifyInstance } from 'fastify'

export function userIdFromHandshake (fastify: FastifyInstance): void {
  fastify.io.use((socket, next) => {
    const sub: unknown = socket.handshake.auth.sub
    if (typeof sub === 'string') socket.data.userId = sub
    next()
  })
}
