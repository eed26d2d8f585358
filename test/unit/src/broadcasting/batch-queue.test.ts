// The queue between a Redis subscription and its deliveries: what arrives in one turn is one
// batch, prepared at once and handled in order, one batch at a time; past its byte bound an
// item is refused, and handled batches free their room.
import t from 'tap'
import { createBatchQueue } from '../../../../src/broadcasting/batch-queue.ts'

function recordingQueue (options: { maxBytes?: number, maxBatchBytes?: number, maxBatchItems?: number } = {}) {
  const prepared: string[][] = []
  const handled: string[][] = []
  let release = () => {}
  let hold = false
  const queue = createBatchQueue<string, number>({
    maxBytes: options.maxBytes ?? 1000,
    maxBatchBytes: options.maxBatchBytes ?? 1000,
    maxBatchItems: options.maxBatchItems ?? 100,
    sizeOf: (item) => item.length,
    prepare: (batch) => prepared.push(batch),
    async handle (batch) {
      if (hold) await new Promise<void>((resolve) => { release = resolve })
      handled.push(batch)
    }
  })
  return { queue, prepared, handled, holdNext: () => { hold = true }, release: () => { hold = false; release() } }
}

t.test('what arrives in one turn is one batch; batches are handled in arrival order', async (t) => {
  const { queue, prepared, handled } = recordingQueue()
  for (const item of ['a', 'b', 'c']) t.ok(queue.offer(item))
  await new Promise((resolve) => setImmediate(resolve))
  for (const item of ['d', 'e']) queue.offer(item)
  await queue.drained()
  t.same(prepared, [['a', 'b', 'c'], ['d', 'e']])
  t.same(handled, [['a', 'b', 'c'], ['d', 'e']])
})

t.test('a batch closes at its item or byte limit', async (t) => {
  const { queue, handled } = recordingQueue({ maxBatchItems: 2, maxBatchBytes: 5 })
  for (const item of ['a', 'b', 'c', 'dddd', 'eeeeeeee']) queue.offer(item)
  await queue.drained()
  t.same(handled, [['a', 'b'], ['c', 'dddd'], ['eeeeeeee']], 'an item larger than a batch is a batch of its own')
})

t.test('past its byte bound an item is refused; handled batches free their room', async (t) => {
  const { queue, handled, holdNext, release } = recordingQueue({ maxBytes: 10 })
  holdNext()
  t.ok(queue.offer('aaaaaa'))
  t.ok(queue.offer('bbbb'))
  t.notOk(queue.offer('c'), 'the eleventh byte is refused')
  t.equal(queue.bytes, 10)
  await new Promise((resolve) => setImmediate(resolve))
  release()
  await queue.drained()
  t.equal(queue.bytes, 0)
  t.ok(queue.offer('c'), 'room again once handled')
  await queue.drained()
  t.same(handled, [['aaaaaa', 'bbbb'], ['c']])
})

t.test('a batch whose handling fails does not stop the ones after it', async (t) => {
  const handled: string[][] = []
  const queue = createBatchQueue<string, undefined>({
    maxBytes: 100,
    maxBatchBytes: 100,
    maxBatchItems: 1,
    sizeOf: (item) => item.length,
    prepare: () => undefined,
    async handle (batch) {
      if (batch[0] === 'bad') throw new Error('handling failed')
      handled.push(batch)
    }
  })
  for (const item of ['one', 'bad', 'two']) queue.offer(item)
  await queue.drained()
  t.same(handled, [['one'], ['two']])
  t.equal(queue.bytes, 0)
})
