// Pusher-shaped socket ids (`<digits>.<digits>`), so that Laravel's `pusher` broadcaster accepts
// them: Echo sends the socket id as `X-Socket-Id` for `toOthers()` and the bridge sends it as
// `socket_id` to `/broadcasting/auth`, and the Pusher PHP SDK refuses anything else.
//
// Patches: socket.io's main namespace `_createSocket` (an own property on that namespace, not
// the prototype). socket.io sets `socket.id` in the Socket constructor with no option to choose
// it; `Namespace#_add` then files the new socket under that id in `_preConnectSockets` and later
// `sockets`. The wrapper gives a new (not recovered) socket its id after construction and
// before `_add` files it, so nothing has seen the old one. A recovered session keeps the id it
// had (already Pusher-shaped), and its `pid` stays socket.io's own unguessable one.
// `pusherSocketIdProblems` checks these internals, and the start fails when an upgrade changed
// them (Laravel would refuse every socket id). socket.io is pinned in package.json.
import { randomInt } from 'node:crypto'
import fp from 'fastify-plugin'

/** `<digits>.<digits>`, as Laravel's pusher driver and the Pusher SDKs check socket ids. */
export const PUSHER_SOCKET_ID = /^\d+\.\d+$/

/** A socket id of two random 48-bit numbers: 96 bits, unguessable like socket.io's own 120. */
export function pusherSocketId (): string {
  const part = () => randomInt(2 ** 48 - 1)
  return `${part()}.${part()}`
}

interface NamespaceInternals {
  _createSocket?: (client: unknown, auth: unknown) => Promise<{ id: string, recovered: boolean }>
  _preConnectSockets?: unknown
  sockets?: unknown
}

/** What this patch needs of socket.io's namespace and does not find; empty when all is there. */
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
