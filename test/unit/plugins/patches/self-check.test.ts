// The start-time check of socket.io, Engine.IO and ws internals: on the pinned versions every
// internal is there; a missing one fails the start with one line that names it.
import type { IncomingMessage } from 'node:http'
import Fastify from 'fastify'
import t from 'tap'
import selfCheck, { internalsProblems, type Probe } from '../../../../plugins/patches/self-check.ts'
import { socketInternalsProblems } from '../../../../plugins/patches/socket-internals.ts'

t.test('every internal the bridge reads is there on the pinned versions', async (t) => {
  // A failure here names the internal an upgrade changed: review plugins/patches/ before moving the pins.
  t.same(await internalsProblems(), [])
})

t.test('each internal the socket internals read is named when it is missing', async (t) => {
  const found = await internalsProblems([(probe: Probe) => socketInternalsProblems({
    ...probe,
    socket: {} as Probe['socket'],
    connection: { readyState: 'open', writeBuffer: [], transport: { name: 'websocket', writable: true } } as unknown as Probe['connection'],
    upgrade: { request: {} as IncomingMessage, response: {} }
  })])
  t.same(found, [
    'engine.io websocket transport#socket is a ws WebSocket (bufferedAmount)',
    'socket.io Socket#pid is the session id (connection state recovery)',
    'engine.io\'s upgrade response holds the net.Socket as `socket`'
  ])
})

t.test('a missing internal fails the start with one line naming it', async (t) => {
  const fastify = Fastify()
  t.teardown(() => fastify.close())
  const checks = [() => ['ws exports Sender.frame(data, options)'], () => ['engine.io Socket#writeBuffer is an array of packets']]
  const failed = await (async () => { await fastify.register(selfCheck, { checks }) })().then(() => undefined, (error: Error) => error)
  t.ok(failed, 'the start fails')
  t.equal(failed?.message, 'socket.io internals the bridge relies on changed (see plugins/patches/README.md): ' +
    'ws exports Sender.frame(data, options); engine.io Socket#writeBuffer is an array of packets')
  t.notMatch(failed?.message ?? '', /\n/, 'one line')
})
