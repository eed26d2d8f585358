// The bounds on calls to Laravel's `/broadcasting/auth`, as plain code: slots on the node, the
// bounded wait in front of them, each connection's share and queue, and a connection that goes.
import t from 'tap'
import { createCallLimiter, type CallLimits, type CallOutcome } from '../../../../../../src/protocols/echo/authorization/call-limiter.ts'

/** A task the test finishes by hand; records whether it started and whether it was aborted. */
interface Controlled {
  started: boolean
  aborted: boolean
  finish: (value: string) => void
  fail: (error: Error) => void
  task: (signal: AbortSignal) => Promise<string>
}

function controlled (): Controlled {
  const control: Controlled = {
    started: false,
    aborted: false,
    finish: () => {},
    fail: () => {},
    task: (signal) => new Promise<string>((resolve, reject) => {
      control.started = true
      control.finish = resolve
      control.fail = reject
      signal.addEventListener('abort', () => {
        control.aborted = true
        reject(new Error('aborted'))
      })
    })
  }
  return control
}

const roomy: CallLimits = { concurrency: 2, maxWaiting: 2, waitTimeoutMs: 60_000, perConnection: 4, maxPerConnection: 100 }

/** Lets promise callbacks (a finished task's bookkeeping) run. */
const settled = () => new Promise<void>((resolve) => setImmediate(resolve))

t.test('at most `concurrency` in flight, a bounded wait in arrival order, then refused at once', async (t) => {
  const limiter = createCallLimiter(roomy)
  const tasks = Array.from({ length: 5 }, controlled)
  const outcomes: Array<CallOutcome<string> | undefined> = tasks.map(() => undefined)
  // Five connections, one call each: only the node's bounds apply.
  const promises = tasks.map((task, i) => limiter.run({}, task.task).then((outcome) => { outcomes[i] = outcome }))
  await settled()
  t.same(tasks.map((task) => task.started), [true, true, false, false, false], 'two in flight')
  t.equal(limiter.inFlight, 2)
  t.equal(limiter.waiting, 2)
  t.same(outcomes[4], { ran: false, reason: 'node_busy' }, 'the fifth is refused without waiting')

  tasks[0]?.finish('first')
  await settled()
  t.same(outcomes[0], { ran: true, value: 'first' })
  t.same(tasks.map((task) => task.started), [true, true, true, false, false], 'the first waiting call took the slot')
  tasks[1]?.finish('second')
  tasks[2]?.finish('third')
  await settled()
  tasks[3]?.finish('fourth')
  await Promise.all(promises)
  t.same(outcomes.slice(0, 4).map((outcome) => outcome?.ran), [true, true, true, true])
  t.same([limiter.inFlight, limiter.waiting, limiter.connections], [0, 0, 0], 'nothing is kept once all is done')
})

t.test('a call that finds no slot within waitTimeoutMs gives up; calls in flight are not timed out', async (t) => {
  const limiter = createCallLimiter({ ...roomy, concurrency: 1, waitTimeoutMs: 20 })
  const running = controlled()
  const waiting = controlled()
  const first = limiter.run({}, running.task)
  t.same(await limiter.run({}, waiting.task), { ran: false, reason: 'wait_timeout' })
  t.notOk(waiting.started, 'the task never ran')
  t.equal(limiter.waiting, 0)
  t.equal(limiter.inFlight, 1, 'the call in flight carries on')
  running.finish('late')
  t.same(await first, { ran: true, value: 'late' })
})

t.test('a connection has at most `perConnection` calls admitted; the rest queue and all run, in order', async (t) => {
  const limiter = createCallLimiter({ ...roomy, concurrency: 64, maxWaiting: 256 })
  const page = {}
  const tasks = Array.from({ length: 8 }, controlled)
  const order: number[] = []
  let highest = 0
  const outcomes = tasks.map((task, i) => limiter.run(page, async (signal) => {
    order.push(i)
    highest = Math.max(highest, limiter.inFlight)
    return await task.task(signal)
  }))
  await settled()
  t.same(tasks.map((task) => task.started), [true, true, true, true, false, false, false, false], 'four in flight')
  t.equal(limiter.queued, 4, 'four queued behind them')
  // Finished in any order, each frees a place for the next queued one.
  for (const i of [2, 0, 3, 1, 5, 4, 7, 6]) {
    await settled()
    tasks[i]?.finish(`channel ${i}`)
  }
  t.same((await Promise.all(outcomes)).map((outcome) => outcome.ran), Array(8).fill(true), 'all eight ran')
  t.same(order, [0, 1, 2, 3, 4, 5, 6, 7], 'in the order they were asked for')
  t.equal(highest, 4, 'never more than four at once')
  t.same([limiter.queued, limiter.connections], [0, 0])
})

t.test('one connection cannot take more than its share of the node, whatever it sends', async (t) => {
  const limiter = createCallLimiter({ ...roomy, concurrency: 4, maxWaiting: 4 })
  const flooder = {}
  const flood = Array.from({ length: 50 }, controlled)
  for (const task of flood) limiter.run(flooder, task.task).catch(() => {})
  await settled()
  t.equal(flood.filter((task) => task.started).length, 4, 'the flooder\'s share is in flight')
  t.equal(limiter.waiting, 0, 'it waits for no slot beyond its share')
  const bystander = controlled()
  const answer = limiter.run({}, bystander.task)
  t.equal(limiter.waiting, 1, 'another connection still finds a place to wait')
  flood[0]?.finish('done')
  await settled()
  t.ok(bystander.started, 'and gets the next slot before the flooder\'s queued calls')
  bystander.finish('served')
  t.same(await answer, { ran: true, value: 'served' })
  limiter.release(flooder)
})

t.test('past maxPerConnection a connection\'s calls are refused at once', async (t) => {
  const limiter = createCallLimiter({ ...roomy, maxPerConnection: 6 })
  const connection = {}
  const tasks = Array.from({ length: 6 }, controlled)
  for (const task of tasks) limiter.run(connection, task.task).catch(() => {})
  t.same(await limiter.run(connection, controlled().task), { ran: false, reason: 'connection_busy' })
  t.same(await limiter.run({}, controlled().task), { ran: false, reason: 'node_busy' }, 'the node is full too: 2 in flight, 2 waiting')
  limiter.release(connection)
})

t.test('a connection that goes: queued and waiting calls dropped, calls in flight aborted, slots handed on', async (t) => {
  const limiter = createCallLimiter({ ...roomy, concurrency: 3, maxWaiting: 10, perConnection: 2 })
  const leaving = {}
  const staying = {}
  const mine = Array.from({ length: 5 }, controlled)
  const outcomes = mine.map((task) => limiter.run(leaving, task.task))
  const theirs = Array.from({ length: 2 }, controlled)
  const theirOutcomes = theirs.map((task) => limiter.run(staying, task.task))
  await settled()
  t.same([limiter.inFlight, limiter.waiting, limiter.queued], [3, 1, 3], 'two of mine and one of theirs in flight, one of theirs waiting')
  limiter.release(leaving)
  t.same((await Promise.all(outcomes)).map((outcome) => outcome.ran ? 'ran' : outcome.reason), Array(5).fill('released'), 'every call of the connection is answered released')
  t.same(mine.map((task) => task.aborted), [true, true, false, false, false], 'the calls in flight were aborted, the queued never ran')
  t.ok(theirs.every((task) => task.started), 'the other connection\'s waiting call got a freed slot')
  for (const task of theirs) task.finish('ok')
  t.same((await Promise.all(theirOutcomes)).map((outcome) => outcome.ran), [true, true])
  t.same([limiter.inFlight, limiter.waiting, limiter.queued, limiter.connections], [0, 0, 0, 0], 'nothing is kept')
  limiter.release(leaving)
  t.pass('releasing a connection twice, or one that has no calls, does nothing')
})

t.test('a task that throws or rejects: its caller gets the error, its slot goes to the next call', async (t) => {
  const limiter = createCallLimiter({ ...roomy, concurrency: 1 })
  const failing = controlled()
  const rejected = limiter.run({}, failing.task)
  const next = controlled()
  const nextAnswer = limiter.run({}, next.task)
  failing.fail(new Error('broken'))
  await t.rejects(rejected, { message: 'broken' })
  await settled()
  t.ok(next.started)
  next.finish('fine')
  t.same(await nextAnswer, { ran: true, value: 'fine' })
  await t.rejects(limiter.run({}, () => { throw new Error('synchronous') }), { message: 'synchronous' }, 'a task that throws at once')
  t.same([limiter.inFlight, limiter.connections], [0, 0])
})
