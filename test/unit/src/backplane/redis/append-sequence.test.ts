// Per-node numbers on the stream's entries: a writer marks what Redis acknowledged, a reader
// tells a jump over an acknowledged number (entries a failover lost) from one over numbers no
// client was promised, and passes over entries it read already.
import t from 'tap'
import { createAppendSequence, createSequenceReader, sequenceOf } from '../../../../../src/backplane/redis/append-sequence.ts'

t.test('a writer numbers its entries from 1 and marks those sent while earlier ones were unacknowledged', async (t) => {
  const writer = createAppendSequence()
  const first = writer.take()
  t.same(first.fields, { q: '1' }, 'nothing before the first')
  writer.acked(first.number)
  t.same(writer.take().fields, { q: '2' }, 'all before it acknowledged: no mark')
  // Number 2 is in flight (or failed): the next says only 1 was acknowledged.
  t.same(writer.take().fields, { q: '3', a: '1' })
  writer.acked(3)
  t.same(writer.take().fields, { q: '4' }, 'the highest acknowledged is the one before it again')
  writer.acked(2)
  t.same(writer.take().fields, { q: '5', a: '3' }, 'a late answer does not lower the mark')
})

t.test('a reader: a writer\'s first number is its start, following numbers are new, read ones seen', async (t) => {
  const reader = createSequenceReader()
  t.equal(reader.read('w', 7), 'new', 'first met at 7 (it started before this reader)')
  t.equal(reader.read('w', 8), 'new')
  t.equal(reader.read('w', 8), 'seen', 'read twice (a resync re-reads it)')
  t.equal(reader.read('w', 3), 'seen', 'an older one')
  t.ok(reader.seen('w', 8))
  t.notOk(reader.seen('w', 9))
  t.notOk(reader.seen('other', 1), 'a writer not met')
})

t.test('a jump over an acknowledged number is a loss; over unacknowledged numbers it is not', async (t) => {
  const reader = createSequenceReader()
  reader.read('w', 1)
  t.equal(reader.read('w', 4), 'lost', 'no mark: 2 and 3 were acknowledged')
  t.equal(reader.read('w', 7, 4), 'new', '5 and 6 were never acknowledged: no client was promised them')
  t.equal(reader.read('w', 10, 8), 'lost', '8 was acknowledged and is missing')
  t.equal(reader.read('w', 11, 9), 'new', 'a mark at or before the last read: nothing acknowledged missing')
  t.equal(reader.read('other', 5), 'new', 'per writer')
})

t.test('a writer that restarts is a new writer (a new node id), starting where it is first read', async (t) => {
  const reader = createSequenceReader()
  reader.read('before-restart', 40)
  t.equal(reader.read('after-restart', 1), 'new')
  t.equal(reader.read('after-restart', 2), 'new')
})

t.test('the writers tracked are bounded: the one heard from longest ago is forgotten first', async (t) => {
  const reader = createSequenceReader(3)
  reader.read('a', 1)
  reader.read('b', 1)
  reader.read('c', 1)
  reader.read('a', 2)
  reader.read('d', 1)
  t.equal(reader.size, 3)
  t.notOk(reader.seen('b', 1), 'b, heard from longest ago, is forgotten')
  t.equal(reader.read('b', 5), 'new', 'and starts again where it is next read')
  t.ok(reader.seen('a', 2), 'a was heard from again lately and is kept')
})

t.test('forget and reset: a writer starts again where it is next read', async (t) => {
  const reader = createSequenceReader()
  reader.read('dead', 3)
  reader.read('alive', 3)
  reader.forget('dead')
  t.equal(reader.read('dead', 9), 'new', 'a forgotten (dead) writer')
  reader.reset()
  t.equal(reader.size, 0)
  t.equal(reader.read('alive', 9), 'new', 'after entries were trimmed unread')
})

t.test('the fields: an entry without a number (or a malformed one) is not tracked', async (t) => {
  t.same(sequenceOf({ q: '5' }), { q: 5 })
  t.same(sequenceOf({ q: '5', a: '2' }), { q: 5, a: 2 })
  t.equal(sequenceOf({}), undefined)
  t.equal(sequenceOf({ q: 'x' }), undefined)
  t.equal(sequenceOf({ q: '0' }), undefined)
})
