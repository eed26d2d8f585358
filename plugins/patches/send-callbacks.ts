// Engine.IO's websocket transport makes four closures in its constructor, the callbacks of its
// sends (`_doSend`, `_doSendLast`, `_onSent`, `_onSentLast`), and keeps them for the
// connection's life: about 260 bytes per idle connection. Here they are accessors of the
// transport's prototype instead: a send makes the callbacks it passes, which are garbage once
// written. An idle connection sends a ping every 25 s; broadcasts to idle websockets skip them
// (broadcast-fast-path.ts). What each callback does is Engine.IO's (engine.io 6.6's
// `transports/websocket.js`): a write error is the transport's `write error`; the last packet
// written makes the transport writable again and emits `drain` and `ready`.
// Patches engine.io's `WebSocket` transport prototype, checked at start.
import type { EventEmitter } from 'node:events'
import { transports } from 'engine.io'
import fp from 'fastify-plugin'

interface TransportInternals extends EventEmitter {
  writable: boolean
  socket: { send: (data: unknown, callback: (error?: Error) => void) => void }
  onError: (message: string, description?: string) => void
  _doSend: (data: unknown) => void
  _doSendLast: (data: unknown) => void
  _onSent: (error?: Error) => void
  _onSentLast: (error?: Error) => void
}

const CALLBACKS = ['_doSend', '_doSendLast', '_onSent', '_onSentLast'] as const

function sent (transport: TransportInternals): (error?: Error) => void {
  return (error) => { if (error) transport.onError('write error', error.stack) }
}

function sentLast (transport: TransportInternals): (error?: Error) => void {
  return (error) => {
    if (error) {
      transport.onError('write error', error.stack)
      return
    }
    transport.emit('drain')
    transport.writable = true
    transport.emit('ready')
  }
}

const accessors: Record<typeof CALLBACKS[number], (transport: TransportInternals) => unknown> = {
  _doSend: (transport) => (data: unknown) => { transport.socket.send(data, transport._onSent) },
  _doSendLast: (transport) => (data: unknown) => { transport.socket.send(data, transport._onSentLast) },
  _onSent: sent,
  _onSentLast: sentLast
}

const patched = Symbol('send callbacks on the prototype')

type Prototype = object & { [patched]?: true }

const websocketPrototype = (transports as unknown as { websocket: { prototype: Prototype } }).websocket.prototype

export function sendCallbackProblems (connection: { transport?: unknown }): string[] {
  const transport = connection.transport as Partial<TransportInternals> & { name?: string } | undefined
  const problems: string[] = []
  if (transport?.name !== 'websocket' || Object.getPrototypeOf(transport) !== websocketPrototype) {
    problems.push('socket.io\'s websocket connections are engine.io\'s `transports.websocket`')
  }
  const ownCallbacks = transport !== undefined && CALLBACKS.every((name) => Object.hasOwn(transport, name) && typeof transport[name] === 'function')
  if (!(websocketPrototype[patched] === true || ownCallbacks) || typeof transport?.onError !== 'function' || typeof transport.socket?.send !== 'function') {
    problems.push('engine.io\'s websocket transport makes its send callbacks (_doSend, _doSendLast, _onSent, _onSentLast) in its constructor')
  }
  return problems
}

/** Installs the accessors on engine.io's websocket transport, once per process. */
export function sendCallbacksOnPrototype (): void {
  if (websocketPrototype[patched] === true) return
  for (const name of CALLBACKS) {
    Object.defineProperty(websocketPrototype, name, {
      configurable: true,
      get (this: TransportInternals) { return accessors[name](this) },
      // The constructor's own closures: not kept.
      set () {}
    })
  }
  Object.defineProperty(websocketPrototype, patched, { value: true })
}

export default fp(async function sendCallbacks () {
  sendCallbacksOnPrototype()
}, {
  name: 'send-callbacks',
  dependencies: ['self-check']
})
