// Dropping and restoring a client's connection the way a flaky mobile network does.
import { once } from 'node:events'
import type { FastifyInstance } from 'fastify'
import type { TestClient } from './helper.ts'

/**
 * Closes the client's transport (as a lost network would) and resolves once both ends have
 * seen it go: the server saves the session when it notices, and only then can it be restored.
 */
export async function dropConnection (client: TestClient, servedBy: FastifyInstance): Promise<void> {
  const serverSocket = servedBy.io.of('/').sockets.get(client.id ?? '')
  if (serverSocket === undefined) throw new Error('the client is not connected to this bridge')
  const serverSaw = once(serverSocket, 'disconnect')
  const clientSaw = new Promise((resolve) => client.once('disconnect', resolve))
  client.io.engine.close()
  const [, [serverReason]] = await Promise.all([clientSaw, serverSaw])
  // The reason that lets the server keep the session (a client's own disconnect() would not).
  if (serverReason !== 'transport close') throw new Error(`unexpected disconnect reason: ${serverReason}`)
}

/** Connects the client again, as its automatic reconnection would, and resolves once connected. */
export async function reconnect (client: TestClient): Promise<void> {
  const connected = new Promise((resolve) => client.once('connect', () => resolve(undefined)))
  client.connect()
  await connected
}

/** Resolves once `received` (from `recordEvents`) holds `count` events; rejects after `ms`. */
export function eventsArrived (client: TestClient, received: unknown[], count: number, ms = 10000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.offAny(check)
      reject(new Error(`${received.length} events arrived within ${ms} ms, expected ${count}`))
    }, ms)
    function check () {
      if (received.length < count) return
      clearTimeout(timer)
      client.offAny(check)
      resolve()
    }
    client.onAny(check)
    check()
  })
}
