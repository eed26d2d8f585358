// The bus of a single node: every message is applied at once, in the order it is sent.
import { randomInt } from 'node:crypto'
import type { Bus, BusHandler, BusMessage, Question } from './bus.ts'
import type { EncodedEvent } from './events.ts'
import type { Position } from './positions.ts'

export function createLocalBus (): Bus {
  let handler: BusHandler | undefined
  let entries = 0
  // Offsets of another run of the process (a restart) must not look like this run's.
  const run = randomInt(2 ** 40)

  return {
    nodeId: 'local',
    async start (applyWith: BusHandler) {
      handler = applyWith
    },
    async send (message: BusMessage) {
      entries += 1
      handler?.apply([0, entries, 0], 'local', message)
    },
    async sendEphemeral (events: EncodedEvent[]) {
      handler?.deliver(events)
    },
    ready: () => true,
    formatOffset: ([, entry, index]: Position) => `${run}.${entry}.${index}`,
    parseOffset (offset: string): Position | undefined {
      const match = /^(\d{1,15})\.(\d{1,15})\.(\d{1,4})$/.exec(offset)
      if (match === null || Number(match[1]) !== run) return undefined
      return [0, Number(match[2]), Number(match[3])]
    },
    async caughtUp () {},
    async ask (question: Question) {
      return handler === undefined ? [] : [handler.answer(question)]
    },
    async close () {}
  }
}
