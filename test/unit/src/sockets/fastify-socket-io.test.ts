// The socket.io plugin alone on a bare Fastify: `fastify.io` serves on Fastify's port with the
// options given, and closes with Fastify (its sockets at preClose unless `preClose` says otherwise).
import Fastify, { type FastifyInstance } from 'fastify'
import { Adapter } from 'socket.io-adapter'
import { io as connect, type Socket } from 'socket.io-client'
import t, { type Test } from 'tap'
import { fastifySocketIo, type SocketIoOptions } from '../../../../src/sockets/fastify-socket-io.ts'

async function start (t: Test, options: SocketIoOptions, setup = (_fastify: FastifyInstance) => {}) {
  const fastify = Fastify()
  await fastify.register(fastifySocketIo, { path: '/realtime/', ...options })
  setup(fastify)
  const address = await fastify.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => fastify.close())
  const client = connect(address, { path: '/realtime/', transports: ['websocket'], reconnection: false })
  t.teardown(() => { client.close() })
  await new Promise<void>((resolve, reject) => {
    client.once('connect', resolve)
    client.once('connect_error', reject)
  })
  return { fastify, client }
}

const disconnectReason = (client: Socket) => new Promise<string>((resolve) => client.once('disconnect', resolve))

t.test('fastify.io serves on the Fastify server; closing Fastify disconnects its sockets and closes it', async (t) => {
  let adapterClosed = false
  const { fastify, client } = await start(t, {
    adapter: class extends Adapter { override close () { adapterClosed = true } }
  })
  const received = new Promise((resolve) => client.once('subscribed', resolve))
  fastify.io.emit('subscribed', { room: 'chat_1' })
  t.same(await received, { room: 'chat_1' }, 'an event emitted on fastify.io arrives')

  const disconnected = disconnectReason(client)
  await fastify.close()
  t.equal(await disconnected, 'io server disconnect', 'sockets are disconnected at preClose')
  t.ok(adapterClosed, 'socket.io is closed (its adapters with it)')
})

t.test('with preClose, the sockets are left to it', async (t) => {
  let socketsAtPreClose: number | undefined
  // As plugins/graceful-shutdown.ts does, in a preClose hook of its own.
  const { fastify, client } = await start(t, { preClose: (done) => done() }, (fastify) => {
    fastify.addHook('preClose', async () => {
      const sockets = [...fastify.io.of('/').sockets.values()]
      socketsAtPreClose = sockets.length
      for (const socket of sockets) socket.conn.close()
    })
  })
  const disconnected = disconnectReason(client)
  await fastify.close()
  t.equal(socketsAtPreClose, 1, 'still connected when the later preClose hook runs')
  t.equal(await disconnected, 'transport close', 'closed by that hook, so the client reconnects elsewhere')
})
