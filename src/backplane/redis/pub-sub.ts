// What goes between nodes beside the stream, over Redis pub/sub: ephemeral events (whispers,
// stored nowhere) and questions to every node (room counts), answered as counts and user ids.
// On a Redis Cluster it is sharded pub/sub: each channel lives on the primary of its slot.
import { randomUUID } from 'node:crypto'
import type { EncodedEvent } from '../../channels/delivery.ts'
import type { Answer, Question } from '../backplane.ts'
import { COMMAND_TIMEOUT_MS, type RedisClient } from './connection.ts'
import { within } from './deadline.ts'
import { decodeEphemeral, encodeEphemeral } from './stream-codec.ts'
import type { Log } from '../../ops/log.ts'

/** Longest wait for every node's answer to a question. */
const ANSWERS_WITHIN_MS = 3000

export interface PubSubOptions {
  /** Publishes go through it. */
  client: RedisClient
  /** Subscribed to this node's channels. */
  subscriber: RedisClient
  prefix: string
  nodeId: string
  log: Log
  /** SPUBLISH and SSUBSCRIBE instead of PUBLISH and SUBSCRIBE. */
  sharded: boolean
  /** Ephemeral events sent by any node, this one too. */
  onEphemeral: (events: EncodedEvent[]) => void
  /** This node's answer to another node's question; undefined before this node has started. */
  answer: (question: Question) => Answer | undefined
}

export async function createPubSub ({ client, subscriber, prefix, nodeId, log, sharded, onEphemeral, answer }: PubSubOptions) {
  const publish = (channel: string, message: string) => sharded ? client.sPublish(channel, message) : client.publish(channel, message)
  const subscribe = (channel: string, listener: (message: string) => void) => sharded ? subscriber.sSubscribe(channel, listener) : subscriber.subscribe(channel, listener)
  const ephemeral = `${prefix}ephemeral`
  const requests = `${prefix}rpc`
  const answersTo = `${prefix}rpc:${nodeId}`
  const pendingAnswers = new Map<string, { expected: Set<string>, answers: Answer[], resolve: (answers: Answer[]) => void }>()

  await subscribe(ephemeral, (raw) => {
    let events: EncodedEvent[]
    try {
      events = decodeEphemeral(raw)
    } catch {
      log.warn('cluster bus: unreadable ephemeral message ignored')
      return
    }
    onEphemeral(events)
  })
  await subscribe(requests, (raw) => {
    let request: { id: string, from: string, question: Question }
    try {
      request = JSON.parse(raw) as typeof request
    } catch {
      return
    }
    if (request.from === nodeId) return
    const own = answer(request.question)
    if (own === undefined) return
    publish(`${prefix}rpc:${request.from}`, JSON.stringify({ id: request.id, node: nodeId, answer: own })).catch(() => {})
  })
  await subscribe(answersTo, (raw) => {
    let reply: { id: string, node: string, answer: Answer }
    try {
      reply = JSON.parse(raw) as typeof reply
    } catch {
      return
    }
    const waiting = pendingAnswers.get(reply.id)
    if (waiting === undefined || !waiting.expected.delete(reply.node)) return
    waiting.answers.push(reply.answer)
    if (waiting.expected.size === 0) waiting.resolve(waiting.answers)
  })

  return {
    async sendEphemeral (events: readonly EncodedEvent[]): Promise<void> {
      await within(publish(ephemeral, encodeEphemeral(events)), COMMAND_TIMEOUT_MS, 'sending ephemeral events')
    },

    /** `own` answer and those of the other nodes in `others`; rejects when one does not answer in time. */
    async ask (question: Question, own: Answer, others: readonly string[]): Promise<Answer[]> {
      const expected = new Set(others.filter((node) => node !== nodeId))
      if (expected.size === 0) return [own]
      const id = randomUUID()
      const answered = new Promise<Answer[]>((resolve) => {
        pendingAnswers.set(id, { expected, answers: [own], resolve })
      })
      try {
        await publish(requests, JSON.stringify({ id, from: nodeId, question }))
        return await within(answered, ANSWERS_WITHIN_MS, `answers of ${expected.size} node(s)`)
      } finally {
        pendingAnswers.delete(id)
      }
    }
  }
}
