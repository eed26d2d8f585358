// Engine.IO's websocket transport keeps no send callbacks of its own; its sends behave as before:
// packets arrive in order, the last one written makes it writable and emits drain, and a write
// error ends the connection as a transport error.
import type { EventEmitter } from 'node:events'
import t from 'tap'
import { sendCallbackProblems } from '../../../../plugins/patches/send-callbacks.ts'
import { connectClient, startBridge, subscribe } from '../../../helpers/bridge.ts'

interface Transport extends EventEmitter { name: string, writable: boolean, _onSentLast: (error?: Error) => void }

const CALLBACKS = ['_doSend', '_doSendLast', '_onSent', '_onSentLast']

t.test('a websocket transport holds no send callback, and what it sends arrives in order; a last write makes it writable and emits drain and ready', async (t) => {
  const { fastify, url } = await startBridge(t)
  const client = await connectClient(t, url)
  t.same(await subscribe(client, 'chat_1'), { ok: true, room: 'chat_1' })
  const [socket] = fastify.io.sockets.sockets.values()
  const transport = socket?.conn.transport as unknown as Transport
  t.same(CALLBACKS.filter((name) => Object.hasOwn(transport, name)), [], 'no callback is the transport\'s own')

  const received: number[] = []
  const all = new Promise<void>((resolve) => {
    client.onAny((_event, n: number) => { received.push(n); if (received.length === 50) resolve() })
  })
  for (let n = 0; n < 50; n++) (socket as unknown as { emit: (event: string, n: number) => void }).emit('counted', n)
  await all
  t.same(received, Array.from({ length: 50 }, (_, n) => n), 'every packet, in order')
  // What the last packet's write callback does: the transport is writable again, drain and ready.
  const emitted: string[] = []
  transport.once('drain', () => emitted.push(`drain, writable ${transport.writable}`))
  transport.once('ready', () => emitted.push(`ready, writable ${transport.writable}`))
  transport.writable = false
  transport._onSentLast()
  t.same(emitted, ['drain, writable false', 'ready, writable true'])
  t.equal(transport.writable, true, 'the transport is writable again')
})

t.test('a write error on a websocket transport ends the connection as a transport error', async (t) => {
  const { fastify, url } = await startBridge(t)
  const client = await connectClient(t, url)
  await subscribe(client, 'chat_1')
  const [socket] = fastify.io.sockets.sockets.values()
  const transport = socket?.conn.transport as unknown as Transport
  const reason = new Promise((resolve) => socket?.once('disconnect', resolve))
  transport._onSentLast(new Error('EPIPE'))
  t.equal(await reason, 'transport error')
})

t.test('the engine.io internals send-callbacks relies on are reported when missing', async (t) => {
  t.same(sendCallbackProblems({}), [
    'socket.io\'s websocket connections are engine.io\'s `transports.websocket`',
    'engine.io\'s websocket transport makes its send callbacks (_doSend, _doSendLast, _onSent, _onSentLast) in its constructor'
  ])
})
