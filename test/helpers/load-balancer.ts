// A TCP proxy standing in for a load balancer: new connections go to whichever node it points
// at, so a test can send a reconnecting client to another node.
import { connect, createServer, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import type { Test } from 'tap'

export interface LoadBalancer {
  url: string
  /** Sends the next connections to the node at `url`. */
  pointTo: (url: string) => void
  /**
   * Closes the clients' side of every connection and leaves the nodes' side open and silent,
   * as a network that drops: clients notice at once, nodes only when their pings go unanswered.
   */
  dropClientsSilently: () => void
}

export async function loadBalancer (t: Test, target: string): Promise<LoadBalancer> {
  let port = Number(new URL(target).port)
  const open = new Set<Socket>()
  const clientSides = new Map<Socket, Socket>()
  const server = createServer((downstream) => {
    const upstream = connect(port, '127.0.0.1')
    clientSides.set(downstream, upstream)
    for (const socket of [downstream, upstream]) {
      open.add(socket)
      socket.on('close', () => { open.delete(socket); clientSides.delete(socket) })
      socket.on('error', () => { downstream.destroy(); upstream.destroy() })
    }
    downstream.pipe(upstream).pipe(downstream)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => {
    for (const socket of open) socket.destroy()
    server.close(() => resolve())
  }))
  const { port: own } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${own}`,
    pointTo: (url) => { port = Number(new URL(url).port) },
    dropClientsSilently () {
      for (const [downstream, upstream] of clientSides) {
        downstream.unpipe(upstream)
        upstream.unpipe(downstream)
        upstream.pause()
        downstream.destroy()
      }
      clientSides.clear()
    }
  }
}
