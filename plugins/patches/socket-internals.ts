// `fastify.socketInternals`: the reads of Engine.IO, ws and socket.io internals the rest of the
// bridge needs (src/ reaches them only through this decorator): the bytes waiting for a
// connection (`writeBuffer`, the websocket's `bufferedAmount`), a frame built once for many
// sockets (ws `Sender.frame`, `preEncoded`/`wsPreEncodedFrame`), socket.io's session id
// (`Socket#pid`), and the raw socket under an upgrade's stand-in response. Checked at start.
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

export interface BufferedConnection {
  writeBuffer?: Array<{ data?: unknown }>
  transport?: { socket?: { bufferedAmount?: unknown } }
}

export interface PacketOptions {
  preEncoded: true
  wsPreEncodedFrame?: Buffer[]
}

type FrameBuilder = (data: Buffer, options: object) => Buffer[]

const buildFrame = (WebSocket as unknown as { Sender?: { frame?: FrameBuilder } }).Sender?.frame

/** Bytes counted so far in a connection's current Engine.IO buffer (it is replaced when flushed). */
const counted = new WeakMap<object, { buffer: unknown[], packets: number, bytes: number }>()

/** Bytes waiting in Engine.IO's buffer (polling, or a write in flight) and in the websocket's own. */
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

export function sharedFrame (packet: string): PacketOptions {
  if (buildFrame === undefined) return { preEncoded: true }
  const frame = buildFrame(Buffer.from(`4${packet}`), { readOnly: false, mask: false, rsv1: false, opcode: 1, fin: true })
  return { preEncoded: true, wsPreEncodedFrame: frame }
}

export function sessionId (socket: object): string | undefined {
  const pid = (socket as { pid?: unknown }).pid
  return typeof pid === 'string' ? pid : undefined
}

export function upgradeSocket (response: object): NetSocket | undefined {
  return (response as { socket?: NetSocket }).socket
}

export const socketInternals = { waitingBytes, sharedFrame, sessionId, upgradeSocket }
export type SocketInternals = typeof socketInternals

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
