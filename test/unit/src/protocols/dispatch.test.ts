// One listener per client event name: each call goes to the protocol that owns its payload.
import t from 'tap'
import { dispatchers } from '../../../../src/protocols/dispatch.ts'
import type { BridgeSocket } from '../../../../src/schemas/socket.ts'

function recorded () {
  const calls: Array<[string, unknown]> = []
  const record = (name: string) => (_socket: BridgeSocket, argument: unknown) => { calls.push([name, argument]) }
  const listeners = dispatchers({
    room: { subscribe: record('room subscribe'), unsubscribe: record('room unsubscribe') },
    echo: { subscribe: record('echo subscribe'), unsubscribe: record('echo unsubscribe'), clientEvent: record('echo client event') }
  })
  return { calls, listeners }
}

const socket = {} as BridgeSocket
const ack = () => {}

t.test('a payload naming `channel` is Echo\'s (it gets the payload); anything else the bridge\'s (it gets every argument)', async (t) => {
  const { calls, listeners } = recorded()
  listeners.subscribe.call(socket, { channel: 'private-chat.1', auth: {} })
  listeners.subscribe.call(socket, { room: 'chat_1' }, ack)
  listeners.subscribe.call(socket, { room: 'chat_1', channel: 'orders' })
  listeners.subscribe.call(socket, ack)
  listeners.subscribe.call(socket)
  listeners.unsubscribe.call(socket, { channel: 'orders' })
  listeners.unsubscribe.call(socket, 'garbage', ack)
  listeners['client event'].call(socket, { room: 'chat_1' })
  t.same(calls, [
    ['echo subscribe', { channel: 'private-chat.1', auth: {} }],
    ['room subscribe', [{ room: 'chat_1' }, ack]],
    ['echo subscribe', { room: 'chat_1', channel: 'orders' }],
    ['room subscribe', [ack]],
    ['room subscribe', []],
    ['echo unsubscribe', { channel: 'orders' }],
    ['room unsubscribe', ['garbage', ack]],
    ['echo client event', { room: 'chat_1' }]
  ])
})
