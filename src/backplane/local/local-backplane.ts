// The backplane of a bridge that runs alone: every message is applied at once, in the order it
// is sent; claims and the sessions of dropped clients are kept in memory. Always ready.
import { randomInt } from 'node:crypto'
import type { EncodedEvent } from '../../channels/delivery.ts'
import type { Backplane, BusMessage, NodeHandler, PublishClaims, Question } from '../backplane.ts'
import { claimThenPublish } from '../claim-then-publish.ts'
import { positionIn, type Clock } from '../positions.ts'
import { MemoryClaimStore } from './memory-claims.ts'
import { createMemorySessionStore } from './memory-sessions.ts'
import { createMemoryWebhookLog } from './memory-webhook-log.ts'

export interface LocalBackplaneOptions {
  /** Most de-duplication claims kept at once (BRIDGE_IDEMPOTENCY_MAX_ENTRIES). */
  maxClaims: number
  /** How long a dropped client's session is kept. */
  recoveryWindowMs: number
}

export function createLocalBackplane ({ maxClaims, recoveryWindowMs }: LocalBackplaneOptions): Backplane {
  let handler: NodeHandler | undefined
  let entries = 0
  // Offsets of another run of the process (a restart) must not look like this run's.
  const run = randomInt(2 ** 40)
  const claims = new MemoryClaimStore({ maxEntries: maxClaims })
  const sessions = createMemorySessionStore({ ttlMs: recoveryWindowMs })
  const webhooks = createMemoryWebhookLog()

  async function send (message: BusMessage): Promise<void> {
    entries += 1
    handler?.apply(0, [0, entries, 0], 'local', message)
  }

  async function publish (events: readonly EncodedEvent[]): Promise<void> {
    const ephemeral = events.filter((event) => event.ephemeral === true)
    const kept = ephemeral.length === 0 ? events : events.filter((event) => event.ephemeral !== true)
    const sent = kept.length > 0 ? send({ type: 'events', events: kept }) : undefined
    if (ephemeral.length > 0) handler?.deliver(ephemeral)
    await sent
  }

  return {
    nodeId: 'local',
    claims,
    sessions,
    webhooks,
    readiness: [],
    async start (applyWith: NodeHandler) {
      handler = applyWith
    },
    async publish (events: readonly EncodedEvent[], request?: PublishClaims) {
      if (request !== undefined) return await claimThenPublish(claims, events, request, async (fresh) => { await publish(fresh) })
      await publish(events)
      return events.map(() => true)
    },
    send,
    ready: () => true,
    // Alone, the bus is one shard.
    shardOf: () => 0,
    // Every event reaches this one node.
    watch () {},
    unwatch () {},
    reading: async () => {},
    formatOffset (clock: Clock): string {
      const [, entry, index] = positionIn(clock, 0)
      return `${run}.${entry}.${index}`
    },
    parseOffset (offset: string): Clock | undefined {
      const match = /^(\d{1,15})\.(\d{1,15})\.(\d{1,4})$/.exec(offset)
      if (match === null || Number(match[1]) !== run) return undefined
      return new Map([[0, [0, Number(match[2]), Number(match[3])]]])
    },
    async caughtUp () {},
    stats: () => ({ lagSeconds: 0, reconnects: 0, shardsRead: 1, eventsRead: 0 }),
    // Nothing outlives this process: what it did not keep is gone.
    readBack: async () => undefined,
    async ask (question: Question) {
      return handler === undefined ? [] : [handler.answer(question)]
    },
    async close () {
      await webhooks.close()
      await sessions.close()
      await claims.close()
    }
  }
}
