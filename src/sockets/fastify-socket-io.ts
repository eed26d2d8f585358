// socket.io's `Server` on Fastify's HTTP server, as `fastify.io`, typed with the bridge's event
// maps: what the `fastify-socket.io` package (5.1.0) did, with the same options and hooks. It is
// owned here because that package cannot be a dependency of a published one: it runs
// `npx only-allow pnpm` as a preinstall script, which fails every consumer's `npm install`, and
// declares a Fastify 4 peer.
import fp from 'fastify-plugin'
import { Server, type ServerOptions } from 'socket.io'
import type { BridgeServer } from '../schemas/socket.ts'

declare module 'fastify' {
  interface FastifyInstance {
    io: BridgeServer
  }
}

export type SocketIoOptions = Partial<ServerOptions> & {
  /**
   * Runs at Fastify's preClose instead of the default, which disconnects every socket of this
   * node: Fastify's close waits for open connections before the onClose hooks run.
   */
  preClose?: (done: () => void) => void
}

export const fastifySocketIo = fp(async function fastifySocketIo (fastify, { preClose, ...options }: SocketIoOptions) {
  const io: BridgeServer = new Server(fastify.server, options)
  fastify.decorate('io', io)
  fastify.addHook('preClose', (done) => {
    if (preClose !== undefined) return preClose(done)
    io.local.disconnectSockets(true)
    done()
  })
  // Engine.IO, the adapters, and the HTTP server (closed already: Fastify closes it first).
  fastify.addHook('onClose', async () => { await io.close() })
}, { name: 'fastify-socket-io' })
