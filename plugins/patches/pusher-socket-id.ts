// Pusher-shaped socket ids (`<digits>.<digits>`), the only ones Laravel's `pusher` broadcaster
// and the Pusher SDKs accept (`toOthers()`, `/broadcasting/auth`). Patches the main namespace's
// `_createSocket`: a new (not recovered) socket gets its id after construction and before
// `Namespace#_add` files it in `_preConnectSockets` and `sockets`; its `pid` stays socket.io's.
import { randomInt } from 'node:crypto'
import fp from 'fastify-plugin'

export const PUSHER_SOCKET_ID = /^\d+\.\d+$/

/** Two random 48-bit numbers: 96 bits, unguessable. */
export function pusherSocketId (): string {
  const part = () => randomInt(2 ** 48 - 1)
  return `${part()}.${part()}`
}

interface NamespaceInternals {
  _createSocket?: (client: unknown, auth: unknown) => Promise<{ id: string, recovered: boolean }>
  _preConnectSockets?: unknown
  sockets?: unknown
}

export function pusherSocketIdProblems (namespace: object): string[] {
  const internals = namespace as NamespaceInternals
  const problems: string[] = []
  if (typeof internals._createSocket !== 'function') problems.push('socket.io Namespace#_createSocket(client, auth) creates the Socket')
  if (!(internals._preConnectSockets instanceof Map)) problems.push('socket.io Namespace#_preConnectSockets is a Map keyed by socket id')
  if (!(internals.sockets instanceof Map)) problems.push('socket.io Namespace#sockets is a Map keyed by socket id')
  return problems
}

export default fp(async function pusherSocketIds (fastify) {
  const namespace = fastify.io.of('/') as unknown as NamespaceInternals
  const problems = pusherSocketIdProblems(namespace)
  // Without these ids every Laravel `toOthers()` and `/broadcasting/auth` call fails: no start.
  if (problems.length > 0) throw new Error(`Pusher-shaped socket ids cannot be made: socket.io internals changed: ${problems.join('; ')}`)
  const createSocket = (namespace._createSocket as NonNullable<NamespaceInternals['_createSocket']>).bind(namespace)
  namespace._createSocket = async (client, auth) => {
    const socket = await createSocket(client, auth)
    if (!socket.recovered) socket.id = pusherSocketId()
    return socket
  }
}, {
  name: 'pusher-socket-id',
  dependencies: ['socket-io', 'self-check']
})
