// When a dead node's sockets went (src/backplane/redis/nodes.ts), on a clock the test moves: a
// later time than the truth would let a client's recovery skip events, so it errs early or says
// it does not know.
import t from 'tap'
import { createNodes, NODE_TIMEOUT_MS } from '../../../../../src/backplane/redis/nodes.ts'

function nodesAt (clock: { time: number }) {
  return createNodes({ nodeId: 'self', recoveryWindowMs: 60_000, onDied: () => {}, onForgotten: () => {}, now: () => clock.time })
}

function diedAt (nodes: ReturnType<typeof createNodes>, node: string): number | undefined {
  return [...nodes.sessionNodes()].find(([name]) => name === node)?.[1]
}

t.test('a node declared dead in time died a timeout before the declaration, when its last heartbeat was read', async (t) => {
  const clock = { time: 100_000 }
  const nodes = nodesAt(clock)
  nodes.seen('other')
  clock.time += NODE_TIMEOUT_MS + 1000
  nodes.died('other')
  nodes.unseen('other')
  t.equal(diedAt(nodes, 'other'), 100_000)
})

t.test('a node declared dead late (the declaring node was paused) died when it was last heard from, not a timeout before the declaration', async (t) => {
  const clock = { time: 100_000 }
  const nodes = nodesAt(clock)
  nodes.seen('other')
  clock.time += 90_000
  nodes.died('other')
  nodes.unseen('other')
  t.equal(diedAt(nodes, 'other'), 100_000)
})

t.test('a node this one never heard from (it died before this one started) is listed without a time of death', async (t) => {
  const clock = { time: 100_000 }
  const nodes = nodesAt(clock)
  nodes.died('before-my-time')
  const listed = [...nodes.sessionNodes()]
  t.same(listed, [['before-my-time', undefined]], 'its clients may come back here; only their offsets tell what they got')
})
