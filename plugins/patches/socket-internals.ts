// `fastify.socketInternals`: the reads of Engine.IO, ws and socket.io internals that the rest of
// the bridge needs, in one place (src/ reaches them only through this decorator):
// - how many bytes wait for a connection: engine.io `Socket#writeBuffer` and the websocket
//   transport's `socket` (a ws WebSocket, whose `bufferedAmount` is public), for the slow-socket cut;
// - a websocket frame built once for many sockets: ws `Sender.frame` and Engine.IO's
//   `preEncoded`/`wsPreEncodedFrame` write options, as socket.io's own adapter uses them;
// - socket.io `Socket#pid`, the private session id a reconnecting client names its session by;
// - the raw socket under the stand-in response Engine.IO's middlewares get for an upgrade.
// Checked at start (plugins/patches/self-check.ts); versions are pinned in package.json.
import type { Socket as NetSocket } from 'node:net'
import fp from 'fastify-plugin'
import WebSocket from 'ws'
import { dataSize } from '../../src/sockets/slow-sockets.ts'
import type { Probe } from './self-check.ts'

declare module 'fastify' {
  interface FastifyInstance {
    socketInternals: SocketInternals
  }
}

/** An Engine.IO connection as far as these reads go. */
export interface BufferedConnection {
  writeBuffer?: Array<{ data?: unknown }>
  transport?: { socket?: { bufferedAmount?: unknown } }
}

/** Engine.IO write options of a packet already encoded, with its websocket frame when one is built. */
export interface PacketOptions {
  preEncoded: true
  wsPreEncodedFrame?: Buffer[]
}

type FrameBuilder = (data: Buffer, options: object) => Buffer[]

const buildFrame = (WebSocket as unknown as { Sender?: { frame?: FrameBuilder } }).Sender?.frame

/** Bytes counted so far in a connection's current Engine.IO buffer (it is replaced when flushed). */
const counted = new WeakMap<object, { buffer: unknown[], packets: number, bytes: number }>()

/**
 * About how many bytes wait to be sent to a connection: in Engine.IO's buffer (polling
 * between requests, or a websocket with a write in flight) and in the websocket's own.
 */
export function waitingBytes (connection: object): number {
  const conn = connection as BufferedConnection
  const ws = conn.transport?.socket
  let bytes = typeof ws?.bufferedAmount === 'number' ? ws.bufferedAmount : 0
  const buffer = conn.writeBuffer
  if (buffer !== undefined && buffer.length > 0) {
    let count = counted.get(conn)
    if (count === undefined || count.buffer !== buffer) {
      count = { buffer, packets: 0, bytes: 0 }
      counted.set(conn, count)
    }
    for (; count.packets < buffer.length; count.packets++) count.bytes += dataSize(buffer[count.packets]?.data)
    bytes += count.bytes
  }
  return bytes
}

/** Write options for a packet written to many sockets: its websocket frame is built here, once. */
export function sharedFrame (packet: string): PacketOptions {
  if (buildFrame === undefined) return { preEncoded: true }
  const frame = buildFrame(Buffer.from(`4${packet}`), { readOnly: false, mask: false, rsv1: false, opcode: 1, fin: true })
  return { preEncoded: true, wsPreEncodedFrame: frame }
}

/** socket.io's private session id of a socket, when connection state recovery gave it one. */
export function sessionId (socket: object): string | undefined {
  const pid = (socket as { pid?: unknown }).pid
  return typeof pid === 'string' ? pid : undefined
}

/** The raw socket under the response Engine.IO's middlewares get for a websocket upgrade. */
export function upgradeSocket (response: object): NetSocket | undefined {
  return (response as { socket?: NetSocket }).socket
}

export const socketInternals = { waitingBytes, sharedFrame, sessionId, upgradeSocket }
export type SocketInternals = typeof socketInternals

/** What these reads need and a connected websocket does not show; empty when all is there. */
export function socketInternalsProblems ({ socket, connection, upgrade }: Probe): string[] {
  const problems: string[] = []
  const expect = (ok: boolean, what: string) => { if (!ok) problems.push(what) }
  expect(Array.isArray((connection as BufferedConnection).writeBuffer), 'engine.io Socket#writeBuffer is an array of packets')
  expect(typeof (connection as BufferedConnection).transport?.socket?.bufferedAmount === 'number',
    'engine.io websocket transport#socket is a ws WebSocket (bufferedAmount)')
  expect(typeof buildFrame === 'function', 'ws exports Sender.frame(data, options)')
  expect(sessionId(socket) !== undefined, 'socket.io Socket#pid is the session id (connection state recovery)')
  const raw = upgradeSocket(upgrade.response)
  expect(typeof raw?.end === 'function' && typeof raw.writable === 'boolean', 'engine.io\'s upgrade response holds the net.Socket as `socket`')
  return problems
}

export default fp(async function socketInternalsPlugin (fastify) {
  fastify.decorate('socketInternals', socketInternals)
}, {
  name: 'socket-internals',
  dependencies: ['self-check']
})
