// Yardsticks for fan-out, measured in the same run as the bridge: a socket.io 4 server with
// default options (`REFERENCE=socket.io`), and a plain `ws` server (`REFERENCE=ws`) that
// speaks just enough of the Engine.IO/socket.io protocol for the same clients and sends
// each event with one `ws.send` per socket. Neither has auth, validation or logging.
import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { Server } from 'socket.io'
import { WebSocketServer, type WebSocket } from 'ws'

const port = Number(process.env.PORT)
const host = process.env.HOST ?? '127.0.0.1'
type Publish = (room: string, payload: unknown) => void

async function readJson (request: IncomingMessage): Promise<{ room?: unknown }> {
  const chunks: Buffer[] = []
  for await (const chunk of request) chunks.push(chunk as Buffer)
  return JSON.parse(Buffer.concat(chunks).toString()) as { room?: unknown }
}

function httpHandler (publish: Publish) {
  return (request: IncomingMessage, response: ServerResponse) => {
    if (request.url === '/health') {
      response.end('{"status":"ok"}')
      return
    }
    if (request.method !== 'POST' || request.url !== '/api/sms/new-message') return
    readJson(request).then((body) => {
      if (typeof body.room !== 'string') throw new Error('room must be a string')
      publish(body.room, body)
      response.writeHead(202, { 'content-type': 'application/json' })
      response.end(JSON.stringify({ ok: true, event: 'new_message', room: body.room }))
    }).catch((error: Error) => {
      response.writeHead(400, { 'content-type': 'application/json' })
      response.end(JSON.stringify({ message: error.message }))
    })
  }
}

function socketIoReference (): void {
  const http = createServer(httpHandler((room, payload) => io.to(room).emit('new_message', payload)))
  const io = new Server(http)
  io.on('connection', (socket) => {
    socket.on('subscribe', (request: { room: string }, ack: (answer: unknown) => void) => {
      socket.join(request.room)
      ack({ ok: true, room: request.room })
    })
  })
  http.listen(port, host)
}

/** Engine.IO v4 + socket.io v5 framing, the least the socket.io client needs. */
function wsReference (): void {
  const rooms = new Map<string, Set<WebSocket>>()
  const http = createServer(httpHandler((room, payload) => {
    const text = `42${JSON.stringify(['new_message', payload])}`
    for (const ws of rooms.get(room) ?? []) ws.send(text)
  }))
  const wss = new WebSocketServer({ server: http, path: '/socket.io/' })
  wss.on('connection', (ws) => {
    const joined = new Set<string>()
    ws.send(`0${JSON.stringify({ sid: randomUUID(), upgrades: [], pingInterval: 25000, pingTimeout: 20000, maxPayload: 1e6 })}`)
    ws.on('message', (data) => {
      const text = data.toString()
      if (text.startsWith('40')) {
        ws.send(`40${JSON.stringify({ sid: randomUUID() })}`)
        return
      }
      const event = /^42(\d*)(.*)$/.exec(text)
      if (event === null) return
      const [, ackId, json] = event
      const [name, request] = JSON.parse(json as string) as [string, { room: string }]
      if (name === 'subscribe') {
        let members = rooms.get(request.room)
        if (members === undefined) rooms.set(request.room, members = new Set())
        members.add(ws)
        joined.add(request.room)
        ws.send(`43${ackId}${JSON.stringify([{ ok: true, room: request.room }])}`)
      }
    })
    ws.on('close', () => {
      for (const room of joined) rooms.get(room)?.delete(ws)
    })
  })
  // Engine.IO heartbeat, so clients do not time out during a long run.
  setInterval(() => { for (const ws of wss.clients) ws.send('2') }, 25_000).unref()
  http.listen(port, host)
}

if (process.env.REFERENCE === 'ws') wsReference()
else socketIoReference()
