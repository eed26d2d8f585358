// A second deadline behind Node's headersTimeout and requestTimeout. Node checks them on a list
// of connections ordered by when each request started; now and then a connection is missing
// from it, and a client trickling bytes then holds its socket for as long as it likes. Here each
// connection's first request head, and each request's body, get their own timer, a little
// later than Node's: when Node's check works, this one never fires.
import type { Server } from 'node:http'
import type { Socket } from 'node:net'

/** How long after Node's own deadline this one fires: two of Node's checking intervals. */
const GRACE_MS = 2000
const TIMED_OUT = 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n'

function timeOut (socket: Socket, answered: boolean): void {
  if (socket.destroyed) return
  // Mid-response there is nothing left to say: the connection just ends.
  if (answered) socket.destroy()
  else socket.end(TIMED_OUT, () => { socket.destroy() })
}

export function guardSlowRequests (server: Server, headersTimeoutMs: number, requestTimeoutMs: number): void {
  const heads = new WeakMap<Socket, NodeJS.Timeout>()
  const stopHead = (socket: Socket) => { clearTimeout(heads.get(socket)) }

  server.on('connection', (socket: Socket) => {
    heads.set(socket, setTimeout(() => { timeOut(socket, false) }, headersTimeoutMs + GRACE_MS).unref())
    socket.once('close', () => { stopHead(socket) })
  })
  // An upgrade (socket.io's and the Pusher protocol's websockets) has its head: no deadline after it.
  server.on('upgrade', (request) => { stopHead(request.socket) })
  server.on('request', (request, reply) => {
    stopHead(request.socket)
    if (request.complete) return
    const body = setTimeout(() => {
      if (!request.complete) timeOut(request.socket, reply.headersSent)
    }, requestTimeoutMs + GRACE_MS).unref()
    // On the request, not its socket: a keep-alive connection carries many requests, and a
    // listener per request on the socket would stay until the connection closes.
    request.once('end', () => { clearTimeout(body) })
    request.once('close', () => { clearTimeout(body) })
  })
}
