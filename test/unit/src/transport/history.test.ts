// The events a node keeps, over the shards of the bus: positions compare within a shard only, the
// byte budget is the node's (oldest out first, whichever shard), and a loss is per shard.
import t from 'tap'
import type { Clock, Position } from '../../../../src/backplane/positions.ts'
import { sizeOf, type EncodedEvent } from '../../../../src/channels/delivery.ts'
import { createHistory } from '../../../../src/transport/history.ts'

function event (channel: string, n: number): EncodedEvent {
  return { channel, event: 'new_message', payloadJson: JSON.stringify({ n, pad: 'x'.repeat(100) }) }
}

// Channels a… go through shard 0, b… through shard 1; shard 1's positions are far below shard 0's.
const shardOf = (channel: string) => channel.startsWith('a') ? 0 : 1
const at = (shard: number, n: number): Position => shard === 0 ? [5000, n, 0] : [10, n, 0]
const keptAll = { keptSince: (): Position => [0, 0, 0] }

function filled (maxBytes = 1e9) {
  let time = 1_000_000
  const history = createHistory({ interest: keptAll, shardOf, maxBytes, keepMs: 60_000, now: () => time })
  // Taking turns: a1 b1 a2 b2 … a5 b5, one millisecond apart.
  for (let n = 1; n <= 5; n++) {
    history.applied(0, at(0, n), event('a', n))
    time += 1
    history.applied(1, at(1, n), event('b', n))
    time += 1
  }
  return history
}

const upTo: Clock = new Map([[0, at(0, 5)], [1, at(1, 5)]])
const numbers = (found: ReturnType<ReturnType<typeof createHistory>['read']>) => found?.map(({ event: { channel, payloadJson } }) => `${channel}${JSON.parse(payloadJson).n}`)

t.test('each channel from its own position, up to its shard\'s position in the clock', async (t) => {
  const history = filled()
  t.same(numbers(history.read(new Map([['a', at(0, 3)], ['b', at(1, 1)]]), upTo)), ['a4', 'a5', 'b2', 'b3', 'b4', 'b5'],
    'shard 1\'s low positions are not compared with shard 0\'s')
  t.same(numbers(history.read(new Map([['a', at(0, 0)], ['b', at(1, 2)]]), new Map([[0, at(0, 2)], [1, at(1, 4)]]))), ['a1', 'a2', 'b3', 'b4'],
    'each shard stops at its own upper bound')
  t.same(numbers(history.read(new Map([['b', at(1, 4)]]), new Map([[0, at(0, 5)]]))), [], 'a shard the clock lacks is read up to START: nothing')
})

t.test('the byte budget is the node\'s: the oldest events go first, whichever shard they are in', async (t) => {
  const one = sizeOf(event('a', 1))
  const history = filled(one * 4)
  t.same(history.stats(), { events: 4, bytes: one * 4 }, 'four events fit')
  t.same(numbers(history.read(new Map([['a', at(0, 3)], ['b', at(1, 3)]]), upTo)), ['a4', 'a5', 'b4', 'b5'], 'a4 b4 a5 b5 are the newest')
  t.equal(history.read(new Map([['a', at(0, 2)]]), upTo), undefined, 'a3 was dropped: shard 0 after a2 is incomplete')
  t.equal(history.read(new Map([['b', at(1, 2)]]), upTo), undefined, 'b3 was dropped: shard 1 after b2 is incomplete')
})

t.test('a loss makes each shard incomplete up to its position in the clock, and START in one it lacks', async (t) => {
  const history = filled()
  history.lostThrough(new Map([[0, at(0, 3)]]))
  t.equal(history.read(new Map([['a', at(0, 3)]]), upTo), undefined, 'shard 0 lost through a3 and right after it')
  t.same(numbers(history.read(new Map([['a', at(0, 4)]]), upTo)), ['a5'], 'from a4 on it is complete')
  t.same(numbers(history.read(new Map([['b', at(1, 1)]]), upTo)), ['b2', 'b3', 'b4', 'b5'], 'shard 1 from b1 is still complete')
  t.equal(history.read(new Map([['b', [0, 0, 0]]]), upTo), undefined, 'but not from START')
  t.equal(history.read(new Map([['c', [0, 0, 0]], ['b', at(1, 4)]]), upTo), undefined, 'nor a shard with nothing kept yet, from START')
})

t.test('a channel whose events were not kept since its position cannot be read', async (t) => {
  const history = createHistory({ interest: { keptSince: (channel) => channel === 'a' ? at(0, 2) : undefined }, shardOf, maxBytes: 1e9, keepMs: 60_000 })
  history.applied(0, at(0, 3), event('a', 3))
  t.same(numbers(history.read(new Map([['a', at(0, 2)]]), upTo)), ['a3'], 'kept since a2')
  t.equal(history.read(new Map([['a', at(0, 1)]]), upTo), undefined, 'not kept since a1')
  t.equal(history.read(new Map([['b', at(1, 1)]]), upTo), undefined, 'b not kept at all')
})
