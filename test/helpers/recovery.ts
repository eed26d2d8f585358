// Dropping and restoring a client's connection the way a flaky mobile network does.
import { once } from 'node:events'
import type { FastifyInstance } from 'fastify'
import { postJson, type TestClient } from './bridge.ts'

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
  // A reason that lets the server keep the session (a client's own disconnect() would not);
  // with events in flight the server may see the write fail before the close.
  if (serverReason !== 'transport close' && serverReason !== 'transport error') throw new Error(`unexpected disconnect reason: ${serverReason}`)
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

export interface GapCheck {
  /** Reconnects that reported `recovered === true`, and those that did not. */
  recovered: number
  restarted: number
  /** Events missing from a stretch the client was told it recovered: must stay 0. */
  hiddenGaps: number
  /** Events seen twice: must stay 0. */
  duplicates: number
}

/**
 * Follows the `n` of every `new_message` a client receives from one publisher counting up, and
 * counts what a recovery hid: after `recovered === true` the next event must follow the last
 * one seen; after `recovered === false` the app starts over from whatever comes next.
 */
export function gapCheck (client: TestClient): GapCheck & { reconnected: () => void } {
  const check = { recovered: 0, restarted: 0, hiddenGaps: 0, duplicates: 0 }
  let last: number | undefined
  let trusted = true
  client.on('new_message', (data) => {
    const n = (data.message as { n?: unknown }).n
    if (typeof n !== 'number') return
    if (last !== undefined && n <= last) check.duplicates += 1
    else if (last !== undefined && trusted && n !== last + 1) check.hiddenGaps += n - last - 1
    last = n
    trusted = true
  })
  return Object.assign(check, {
    reconnected () {
      if (client.recovered) {
        check.recovered += 1
      } else {
        check.restarted += 1
        // The app reloads what it shows: what it missed before is not a hidden gap.
        trusted = false
      }
    }
  })
}

/**
 * One publisher counting up (`message.n`), ten `new-message` events a batch into `room`, the
 * batch starting at `n` sent to `urlFor(n)`, until `stop()`; it resolves with how many were sent.
 */
export function countingPublisher (room: string, urlFor: (n: number) => string): { stop: () => Promise<number> } {
  const state = { on: true }
  let n = 0
  const running = (async () => {
    while (state.on) {
      const events = Array.from({ length: 10 }, (_, i) => ({ type: 'new-message', room, message: { n: n + i } }))
      await postJson(urlFor(n), '/api/sms/batch', { events })
      n += 10
    }
  })()
  return {
    async stop () {
      state.on = false
      await running
      return n
    }
  }
}
