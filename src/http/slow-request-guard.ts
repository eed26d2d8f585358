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
  // Nothing of the guard outlives a connection's first head: an upgraded connection may be held
  // idle for hours, and a timer and a listener each, times every connection, add up.
  const heads = new WeakMap<Socket, NodeJS.Timeout>()
  function stopHead (socket: Socket): void {
    const timer = heads.get(socket)
    if (timer === undefined) return
    clearTimeout(timer)
    heads.delete(socket)
    socket.removeListener('close', stopHeadOnClose)
  }
  /** One listener for every connection (`this`), not a closure each. */
  function stopHeadOnClose (this: Socket): void {
    stopHead(this)
  }

  server.on('connection', (socket: Socket) => {
    heads.set(socket, setTimeout(() => { timeOut(socket, false) }, headersTimeoutMs + GRACE_MS).unref())
    socket.on('close', stopHeadOnClose)
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
