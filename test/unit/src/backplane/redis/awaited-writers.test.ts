// Writers awaited after Redis came back (src/backplane/redis/awaited-writers.ts): one heard from
// on the new primary is cleared; one declared dead first counts as a loss; entries the new
// primary held already when it came back (replicated before the failover) clear nobody.
import t from 'tap'
import { createAwaitedWriters } from '../../../../../src/backplane/redis/awaited-writers.ts'

t.test('a writer declared dead before it was heard from again counts as a loss, once', async (t) => {
  const awaited = createAwaitedWriters()
  awaited.await(['w'], [1000, 0, 0])
  t.equal(awaited.died('w'), true, 'its last entries may be lost unseen')
  t.equal(awaited.died('w'), false, 'declared dead a second time: said once')
  t.equal(awaited.size, 0)
})

t.test('a writer heard from after the newest entry Redis held when it came back is cleared', async (t) => {
  const awaited = createAwaitedWriters()
  awaited.await(['w', 'x'], [1000, 0, 0])
  awaited.heard('w', [1000, 1, 0])
  t.equal(awaited.died('w'), false, 'its heartbeat carried its numbers: a loss showed the usual way')
  t.equal(awaited.died('x'), true, 'the other was not heard from')
})

t.test('entries the new primary held already clear nobody: they were appended before the failover', async (t) => {
  const awaited = createAwaitedWriters()
  awaited.await(['w'], [1000, 5, 0])
  awaited.heard('w', [900, 0, 0])
  awaited.heard('w', [1000, 5, 0])
  t.equal(awaited.died('w'), true)
})

t.test('without Redis coming back no writer is awaited', async (t) => {
  const awaited = createAwaitedWriters()
  awaited.heard('w', [1000, 0, 0])
  t.equal(awaited.died('w'), false, 'a node dying while Redis stays up is no loss')
})

t.test('Redis coming back again awaits from its newest entry then, and keeps those still awaited', async (t) => {
  const awaited = createAwaitedWriters()
  awaited.await(['w'], [1000, 0, 0])
  awaited.await(['x'], [2000, 0, 0])
  awaited.heard('w', [1500, 0, 0])
  t.equal(awaited.died('w'), true, 'heard from before the second return only')
  awaited.heard('x', [2000, 1, 0])
  t.equal(awaited.died('x'), false)
})
