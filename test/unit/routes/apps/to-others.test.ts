// toOthers() on the Pusher path: `socket_id` (Pusher's `<digits>.<digits>`, the id Echo
// reports) is left out, in a trigger and in each batch item; everyone else gets the event.
// Section 3 subscribers here: it needs sockets whose ids have Pusher's shape.
import t from 'tap'
import { connectClient, recordEvents, startBridge, subscribe, type TestClient } from '../../../helpers/bridge.ts'
import { pusherClient, pusherEnv } from '../../../helpers/pusher.ts'

function nextAny (socket: TestClient, ms = 5000): Promise<{ event: string, data: unknown }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no event within ${ms} ms`)), ms)
    const listener = (event: string, data: unknown) => {
      clearTimeout(timer)
      socket.offAny(listener)
      resolve({ event, data })
    }
    socket.onAny(listener)
  })
}

t.test('trigger and batch with socket_id skip that socket only', async (t) => {
  const { url } = await startBridge(t, pusherEnv())
  const pusher = pusherClient(url)
  const sender = await connectClient(t, url)
  const other = await connectClient(t, url)
  await subscribe(sender, 'chat.1')
  await subscribe(other, 'chat.1')
  const socketId = sender.id as string
  t.match(socketId, /^\d+\.\d+$/, 'socket ids have Pusher\'s shape (contract 5.1)')
  const seenBySender = recordEvents(sender)

  const toOther = nextAny(other)
  t.equal((await pusher.trigger('private-chat.1', 'message', { n: 1 }, { socket_id: socketId })).status, 200)
  t.same(await toOther, { event: 'message', data: { n: 1 } })
  const inBatch = nextAny(other)
  await pusher.triggerBatch([{ channel: 'private-chat.1', name: 'message', data: { n: 2 }, socket_id: socketId }])
  t.same(await inBatch, { event: 'message', data: { n: 2 } })

  const marker = nextAny(sender)
  await pusher.trigger('private-chat.1', 'marker', {})
  await marker
  t.same(seenBySender.map(({ event }) => event), ['marker'], 'the sender got neither of its own')
})
