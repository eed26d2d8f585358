// What every backplane does, whatever the deployment: the same behaviour tests, run against each
// implementation by test/unit/src/backplane/<implementation>.test.ts. A deployment that spans nodes
// (Redis) also runs the tests of what goes between nodes.
import { randomUUID } from 'node:crypto'
import { pino } from 'pino'
import type { Test } from 'tap'
import type { Answer, Backplane, BusMessage, NodeHandler, NodeState, Question, StoredSession } from '../../src/backplane/backplane.ts'
import { createBackplane } from '../../src/backplane/create.ts'
import type { Clock, Position } from '../../src/backplane/positions.ts'
import type { EncodedEvent } from '../../src/channels/delivery.ts'
import { loadConfig, type Env } from '../../src/config/index.ts'
import { testEnv } from './bridge.ts'

export interface Deployment {
  /** Starts one more node of this deployment with `handler`; closed when the test ends. */
  node: (handler: NodeHandler) => Promise<Backplane>
}

export interface Driver {
  name: string
  /** A fresh deployment, for one test. */
  deployment: (t: Test) => Deployment
  /** Whether its nodes reach each other (a single bridge's does not: it is one node). */
  spansNodes: boolean
}

/** A deployment configured by `env` (none: one bridge alone; REDIS_URL: a cluster). */
export function deploymentOf (t: Test, env: Env): Deployment {
  const config = loadConfig(testEnv(env))
  return {
    async node (handler) {
      const backplane = await createBackplane({ config, log: pino({ level: 'silent' }), recoveryWindowMs: 60_000 })
      t.teardown(() => backplane.close())
      await backplane.start(handler)
      return backplane
    }
  }
}

/** A node that records what its backplane brings it. */
export function recordingNode (state: NodeState = { interest: [], presence: [] }, answer: (question: Question) => Answer = () => ({ type: 'count', subscribers: 1, users: [] })) {
  const applied: Array<{ shard: number, position: Position, node: string, message: BusMessage }> = []
  const delivered: EncodedEvent[][] = []
  const waiters = new Set<() => void>()
  const handler: NodeHandler = {
    apply (shard, position, node, message) {
      applied.push({ shard, position, node, message })
      for (const check of waiters) check()
    },
    passed () {},
    started () {},
    stopped () {},
    deliver (events) {
      delivered.push([...events])
      for (const check of waiters) check()
    },
    lost () {},
    state: () => state,
    nodeDied () {},
    nodeForgotten () {},
    answer
  }
  /** Resolves once `condition` holds (checked after every call to the node). */
  function until (condition: () => boolean, what: string, ms = 10_000): Promise<void> {
    if (condition()) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.delete(check)
        reject(new Error(`timed out waiting for ${what}`))
      }, ms)
      const check = () => {
        if (!condition()) return
        clearTimeout(timer)
        waiters.delete(check)
        resolve()
      }
      waiters.add(check)
    })
  }
  /** The messages of `type` applied so far. */
  const ofType = <T extends BusMessage['type']>(type: T) =>
    applied.filter((entry): entry is typeof entry & { message: Extract<BusMessage, { type: T }> } => entry.message.type === type)
  return { handler, applied, delivered, until, ofType }
}

function event (channel: string, name: string, payload: unknown, extra: Partial<EncodedEvent> = {}): EncodedEvent {
  return { channel, event: name, payloadJson: JSON.stringify(payload), ...extra }
}

function compare (a: Position, b: Position): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2]
}

/** A node gets the events of the channels it watches (a split bus's shards are read on demand). */
async function watching (backplane: Backplane, ...channels: string[]): Promise<void> {
  for (const channel of channels) backplane.watch(channel)
  await Promise.all(channels.map((channel) => backplane.reading(channel)))
}

export function conformance (t: Test, driver: Driver): void {
  t.test(`${driver.name}: what a node sends is applied in order (within each shard), at growing positions, naming the node`, async (t) => {
    const node = recordingNode()
    const backplane = await driver.deployment(t).node(node.handler)
    await watching(backplane, 'private-chat_1')
    await backplane.send({ type: 'interest', changes: [['private-chat_1', true]] })
    await backplane.publish([event('private-chat_1', 'new_message', { n: 1 }), event('private-chat_1', 'new_message', { n: 2 })])
    await backplane.send({ type: 'presence', changes: [['presence-room', '7', { user_id: 7 }]] })
    await node.until(() => node.ofType('presence').length === 1, 'the presence change')

    const own = node.applied.filter(({ node: from, message }) => from === backplane.nodeId && message.type !== 'snapshot')
    t.same(own.map(({ message }) => message.type).sort(), ['events', 'interest', 'presence'], 'each applied once')
    const sent: Array<BusMessage['type']> = ['interest', 'events', 'presence']
    const shardOf = new Map(own.map(({ shard, message }) => [message.type, shard]))
    t.equal(shardOf.get('events'), backplane.shardOf('private-chat_1'), 'the events in their channel\'s shard')
    for (const shard of new Set(shardOf.values())) {
      const inShard = own.filter((entry) => entry.shard === shard)
      t.same(inShard.map(({ message }) => message.type), sent.filter((type) => shardOf.get(type) === shard), `in the order sent within shard ${shard}`)
      const positions = inShard.map(({ position }) => position)
      t.ok(positions.every((position, i) => i === 0 || compare(position, positions[i - 1] as Position) > 0), `each position after the one before within shard ${shard}`)
    }
    t.same(node.ofType('events')[0]?.message.events.map(({ payloadJson }) => JSON.parse(payloadJson)), [{ n: 1 }, { n: 2 }], 'events in order, as sent')
  })

  t.test(`${driver.name}: ephemeral events are delivered to the node, never applied or kept`, async (t) => {
    const node = recordingNode()
    const backplane = await driver.deployment(t).node(node.handler)
    const whisper = event('private-chat_1', 'client-typing', { typing: true }, { except: '1.2', only: 'echo', ephemeral: true })
    await backplane.publish([whisper])
    await node.until(() => node.delivered.length === 1, 'the whisper')
    t.same(node.delivered, [[whisper]], 'delivered as sent')
    t.same(node.ofType('events'), [], 'not applied as a kept event')
  })

  t.test(`${driver.name}: an offset parses back to its position; other text does not parse`, async (t) => {
    const node = recordingNode()
    const backplane = await driver.deployment(t).node(node.handler)
    await watching(backplane, 'private-chat_1')
    await backplane.publish([event('private-chat_1', 'new_message', {})])
    await node.until(() => node.ofType('events').length === 1, 'the event')
    const { shard, position } = node.ofType('events')[0] as { shard: number, position: Position }
    t.equal(shard, backplane.shardOf('private-chat_1'), 'applied in the channel\'s shard')
    const at: Clock = new Map([[shard, [position[0], position[1], 3]]])
    t.same(backplane.parseOffset(backplane.formatOffset(at)), at)
    for (const garbage of ['', 'x', '1.2', '-1-2.3', '9'.repeat(40)]) t.equal(backplane.parseOffset(garbage), undefined, `"${garbage.slice(0, 12)}" does not parse`)
  })

  t.test(`${driver.name}: a key is claimed once per window, and again once released`, async (t) => {
    const backplane = await driver.deployment(t).node(recordingNode().handler)
    const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()]
    t.equal(await backplane.claims.claim(a, 60), true)
    t.equal(await backplane.claims.claim(a, 60), false, 'a retry within the window')
    t.same(await backplane.claims.claimAll([a, b, c, b], 60), [false, true, true, false])
    await backplane.claims.release(a)
    t.equal(await backplane.claims.claim(a, 60), true, 'claimed again after a release')
  })

  t.test(`${driver.name}: a publish with claims hands on only the events whose key it takes, and none while its guard is taken`, async (t) => {
    const node = recordingNode()
    const backplane = await driver.deployment(t).node(node.handler)
    await watching(backplane, 'private-chat_1')
    const [a, b, guard] = [randomUUID(), randomUUID(), randomUUID()]
    const numbered = (...ns: number[]) => ns.map((n) => event('private-chat_1', 'new_message', n))
    t.same(await backplane.publish(numbered(1, 2, 3, 4), { keys: [a, undefined, b, a], ttlSeconds: 60 }), [true, true, true, false], 'a key repeated within a publish is taken once')
    t.same(await backplane.publish(numbered(5, 6), { keys: [a, randomUUID()], ttlSeconds: 60, guard: { key: guard, ttlSeconds: 60 } }), [false, true])
    t.same(await backplane.publish(numbered(7), { keys: [randomUUID()], ttlSeconds: 60, guard: { key: guard, ttlSeconds: 60 } }), [false], 'the guard is taken')
    t.same(await backplane.publish(numbered(8), { keys: [b], ttlSeconds: 60 }), [false], 'a claim outlives its publish')
    t.equal(await backplane.claims.claim(b, 60), false, 'and is a claim like any other')
    await backplane.publish(numbered(9))
    await node.until(() => node.ofType('events').length === 3, 'the events handed on')
    t.same(node.ofType('events').map(({ message }) => message.events.map(({ payloadJson }) => JSON.parse(payloadJson) as number)), [[1, 2, 3], [6], [9]], 'only the claimed events, in order')
  })

  t.test(`${driver.name}: a saved session is taken once`, async (t) => {
    const backplane = await driver.deployment(t).node(recordingNode().handler)
    const session: StoredSession = { sid: '1.2', pid: randomUUID(), rooms: ['room/chat_1'], data: { userId: '7' }, from: [['private-chat_1', [0, 1, 0]]] }
    backplane.sessions.save(session)
    t.same(await backplane.sessions.take(session.pid), session)
    t.equal(await backplane.sessions.take(session.pid), undefined, 'taken already')
    t.equal(await backplane.sessions.take(randomUUID()), undefined, 'an unknown session')
  })

  t.test(`${driver.name}: ready, caught up, and every node's answer includes this one's`, async (t) => {
    const node = recordingNode(undefined, () => ({ type: 'count', subscribers: 3, users: ['7'] }))
    const backplane = await driver.deployment(t).node(node.handler)
    t.equal(backplane.ready(), true)
    t.ok(backplane.readiness.every(({ ready }) => ready()), 'every readiness check passes')
    await backplane.send({ type: 'interest', changes: [['c', true]] })
    await backplane.caughtUp()
    t.ok(node.ofType('interest').length >= 1, 'what was sent before is applied once caught up')
    t.same(await backplane.ask({ type: 'count', channel: 'c' }), [{ type: 'count', subscribers: 3, users: ['7'] }])
  })

  if (!driver.spansNodes) return

  t.test(`${driver.name}: every node applies every node's events of a channel in one order`, async (t) => {
    const deployment = driver.deployment(t)
    const [first, second] = [recordingNode(), recordingNode()]
    const a = await deployment.node(first.handler)
    const b = await deployment.node(second.handler)
    await Promise.all([watching(a, 'c'), watching(b, 'c')])
    await Promise.all([
      a.publish([event('c', 'e', 'a1')]), b.publish([event('c', 'e', 'b1')]), a.publish([event('c', 'e', 'a2')])
    ])
    const seen = (node: ReturnType<typeof recordingNode>) => node.ofType('events').map(({ message }) => message.events[0]?.payloadJson)
    await Promise.all([first, second].map((node) => node.until(() => seen(node).length === 3, 'three events')))
    t.same(seen(first), seen(second), 'one order on both nodes')
  })

  t.test(`${driver.name}: a node that starts gets every other node's state`, async (t) => {
    const deployment = driver.deployment(t)
    await deployment.node(recordingNode({ interest: ['private-chat_1'], presence: [['presence-room', '7', { user_id: 7 }]] }).handler)
    const late = recordingNode()
    const lateNode = await deployment.node(late.handler)
    // Its own state (a starting node may announce it) is not what it waits for.
    const snapshots = late.ofType('snapshot').filter(({ node }) => node !== lateNode.nodeId)
      .map(({ message }) => ({ interest: message.interest, presence: message.presence }))
    t.same(snapshots, [{ interest: ['private-chat_1'], presence: [['presence-room', '7', { user_id: 7 }]] }], 'before its start resolves')
  })

  t.test(`${driver.name}: ephemeral events, questions and live sessions reach the other nodes`, async (t) => {
    const deployment = driver.deployment(t)
    const [first, second] = [recordingNode(undefined, () => ({ type: 'count', subscribers: 1, users: ['a'] })), recordingNode(undefined, () => ({ type: 'count', subscribers: 2, users: ['b'] }))]
    const a = await deployment.node(first.handler)
    const b = await deployment.node(second.handler)
    await a.publish([event('c', 'client-x', 1, { ephemeral: true, only: 'echo', except: '1.1' })])
    await second.until(() => second.delivered.length === 1, 'the whisper on the other node')
    const answers = await a.ask({ type: 'count', channel: 'c' })
    t.same(answers.map((answer) => answer.type === 'count' ? answer.subscribers : -1).sort(), [1, 2], 'both nodes answered')

    const session: StoredSession = { sid: '1.2', pid: randomUUID(), rooms: [], data: {}, from: [] }
    a.sessions.live?.changed(session)
    await new Promise((resolve) => setImmediate(resolve))
    await a.caughtUp()
    const taken = await b.sessions.live?.take(session.pid)
    t.same(taken?.session, session, 'the other node takes over a live session')
  })

  t.test(`${driver.name}: a node started after another stopped without a word takes over that node's live sessions`, async (t) => {
    const deployment = driver.deployment(t)
    const gone = await deployment.node(recordingNode().handler)
    const session: StoredSession = { sid: '1.3', pid: randomUUID(), rooms: [], data: {}, from: [] }
    gone.sessions.live?.changed(session)
    // Closed, not shut down: its copies stay, as a killed node's do, and it was never declared dead.
    await gone.close()
    const restarted = await deployment.node(recordingNode().handler)
    t.same(await restarted.sessions.live?.take(session.pid), { session }, 'taken over, with no time of death: this node never heard from that one')
    t.equal(await restarted.sessions.live?.take(session.pid), undefined, 'once')
  })
}
