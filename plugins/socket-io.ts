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

/** How long a dropped client may stay away and still get the events it missed. */
export const RECOVERY_WINDOW_MS = 2 * 60 * 1000

export const autoConfig = (fastify: FastifyInstance): FastifySocketioOptions => ({
  cors: { origin: fastify.config.corsOrigins },
  // A client back within the window gets its rooms, its data and the events it missed
  // (`socket.recovered`); in cluster mode through the Redis adapter, from any node. Its
  // connection was authenticated when it was made, so the middlewares are not run again.
  connectionStateRecovery: { maxDisconnectionDuration: RECOVERY_WINDOW_MS, skipMiddlewares: true },
  // Clients only send small subscribe/unsubscribe messages.
  maxHttpBufferSize: 16 * 1024
})

// The package is CommonJS with its plugin on `exports.default`.
export default fastifySocketIO.default
