// ws's receiver lets go of the last frame's mask, and frames are still unmasked right: whole,
// and a message sent in fragments (each with a mask of its own).
import { setImmediate as nextMacrotask } from 'node:timers/promises'
import t from 'tap'
import * as ws from 'ws'
import { frameMaskProblems, releaseFrameMasks } from '../../../../plugins/patches/frame-mask.ts'
import { connectClient, nextEvent, postJson, startBridge, subscribe } from '../../../helpers/bridge.ts'

interface ServerWebSocket { _receiver: { _mask?: unknown } }

t.test('an idle connection keeps no frame mask, and its frames still arrive whole', async (t) => {
  const { fastify, url } = await startBridge(t)
  const client = await connectClient(t, url)
  t.same(await subscribe(client, 'chat_1'), { ok: true, room: 'chat_1' }, 'a masked frame read right')
  await nextMacrotask()
  const [socket] = fastify.io.sockets.sockets.values()
  const websocket = (socket?.conn.transport as unknown as { socket: ServerWebSocket }).socket
  t.equal(websocket._receiver._mask, undefined, 'the last frame\'s mask is let go')
  const received = nextEvent(client, 'new_message')
  await postJson(url, '/api/sms/new-message', { room: 'chat_1', message: { text: 'still here' } })
  t.match(await received, { message: { text: 'still here' } })
})

t.test('a message sent in fragments, each masked, is read whole', async (t) => {
  const { url } = await startBridge(t)
  const client = new ws.WebSocket(`${url.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`)
  t.teardown(() => client.terminate())
  const ack = new Promise<string>((resolve, reject) => {
    client.on('error', reject)
    client.on('message', (data) => {
      const text = String(data)
      if (text.startsWith('0')) client.send('40')
      else if (text.startsWith('40')) {
        // Engine.IO message 4, socket.io event 2 with ack id 7, split over three frames.
        const packet = '427["subscribe",{"room":"chat_fragments"}]'
        client.send(packet.slice(0, 5), { fin: false })
        client.send(packet.slice(5, 20), { fin: false })
        client.send(packet.slice(20), { fin: true })
      } else if (text.startsWith('437')) resolve(text)
    })
  })
  t.same(JSON.parse((await ack).slice(3)), [{ ok: true, room: 'chat_fragments' }])
})

t.test('the ws internal frame-mask relies on is there, and the patch applies once', async (t) => {
  // A failure here names what an upgrade of ws changed: review plugins/patches/frame-mask.ts.
  t.same(frameMaskProblems(), [])
  const { Receiver } = ws as unknown as { Receiver: { prototype: { dataMessage: unknown } } }
  releaseFrameMasks()
  const patched = Receiver.prototype.dataMessage
  releaseFrameMasks()
  t.equal(Receiver.prototype.dataMessage, patched, 'a second bridge in the process does not wrap it again')
})
