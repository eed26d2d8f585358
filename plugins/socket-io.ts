// socket.io on the same HTTP server as Fastify, as `fastify.io`, typed with the event maps.
import fastifySocketIO, { type FastifySocketioOptions } from 'fastify-socket.io'
import type { FastifyInstance } from 'fastify'
import type { Server } from 'socket.io'
import type {
  ClientToServerEvents,
  InterServerEvents,
  ServerToClientEvents,
  SocketData
} from '../src/schemas/socket.ts'

export type BridgeServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>

declare module 'fastify' {
  interface FastifyInstance {
    io: BridgeServer
  }
}

export const autoConfig = (fastify: FastifyInstance): FastifySocketioOptions => ({
  cors: { origin: fastify.config.corsOrigins },
  // Clients only send small subscribe/unsubscribe messages.
  maxHttpBufferSize: 16 * 1024
})

// The package is CommonJS with its plugin on `exports.default`.
export default fastifySocketIO.default
