// Per-node numbers on the stream's entries: a writer says up to where its appends were answered
// and which were not stored for sure; a reader tells a missing number Redis had acknowledged
// (an entry a failover lost) from one no client was promised, and passes over entries it read.
import t from 'tap'
import { createAppendSequence, createSequenceReader, MAX_UNSETTLED } from '../../../../../src/backplane/redis/append-sequence.ts'

t.test('a writer numbers its entries from 1 and says what became of the earlier ones', async (t) => {
  const writer = createAppendSequence()
  t.equal(writer.checkpoint(), undefined, 'a heartbeat before any entry says nothing')
  const first = writer.take()
  t.same(first.fields, { q: '1' }, 'nothing before the first')
  t.same(writer.checkpoint(), { q: '1', s: '0' }, 'a heartbeat meanwhile: 1 is taken, not answered')
  writer.settled(first.number, true, first.says)
  t.same(writer.checkpoint(), { q: '1' }, 'answered: nothing more to say')
  const second = writer.take()
  t.same(second.fields, { q: '2' }, 'everything before it answered')
  const third = writer.take()
  t.same(third.fields, { q: '3', s: '1' }, '2 unanswered when 3 was sent')
  writer.settled(second.number, false, second.says)
  writer.settled(third.number, true, third.says)
  const fourth = writer.take()
  t.same(fourth.fields, { q: '4', v: '2' }, '2 was not stored for sure: said until an entry saying so is stored')
  t.same(writer.take().fields, { q: '5', s: '3', v: '2' })
  writer.settled(fourth.number, true, fourth.says)
  t.same(writer.checkpoint(), { q: '5', s: '4' }, 'the stored entry said it: no more')
})

t.test('unstored numbers are said as ranges', async (t) => {
  const writer = createAppendSequence()
  const taken = [writer.take(), writer.take(), writer.take(), writer.take(), writer.take()]
  for (const [index, { number, says }] of taken.entries()) writer.settled(number, index === 3, says)
  t.same(writer.take().fields, { q: '6', v: '1-3,5' })
})

t.test('a reader: a writer\'s first number is its start, following numbers are new, read ones seen', async (t) => {
  const reader = createSequenceReader()
  t.equal(reader.read('w', { q: '7' }), 'new', 'first met at 7 (it started before this reader)')
  t.equal(reader.read('w', { q: '8' }), 'new')
  t.equal(reader.read('w', { q: '8' }), 'seen', 'read twice (a resync re-reads it)')
  t.equal(reader.read('w', { q: '3' }), 'seen', 'an older one')
  t.ok(reader.seen('w', 8))
  t.notOk(reader.seen('w', 9))
  t.notOk(reader.seen('other', 1), 'a writer not met')
  t.equal(reader.read('x', { q: 'nonsense' }), 'new', 'an entry without a number is applied, untracked')
})

t.test('a missing number that was answered and stored is a loss; one not stored for sure is not', async (t) => {
  const reader = createSequenceReader()
  reader.read('w', { q: '1' })
  t.equal(reader.read('w', { q: '4' }), 'lost', 'nothing said: 2 and 3 were acknowledged')
  t.equal(reader.read('w', { q: '7', v: '5-6' }), 'new', '5 and 6 failed: no client was promised them')
  t.equal(reader.read('w', { q: '9', v: '5-6' }), 'lost', '8 was acknowledged')
  t.equal(reader.read('other', { q: '5' }), 'new', 'per writer')
})

t.test('a number unanswered when the next entry was sent is judged once a later entry or heartbeat tells', async (t) => {
  const reader = createSequenceReader()
  reader.read('w', { q: '1' })
  t.equal(reader.read('w', { q: '3', s: '1' }), 'new', '2 was in flight: not judged yet')
  t.notOk(reader.seen('w', 2), 'not read')
  t.equal(reader.read('w', { q: '4' }), 'lost', 'then answered and stored, and still missing: lost')

  reader.read('u', { q: '1' })
  reader.read('u', { q: '3', s: '1' })
  t.equal(reader.read('u', { q: '4', v: '2' }), 'new', 'then not stored: no loss')

  reader.read('r', { q: '1' })
  reader.read('r', { q: '3', s: '1' })
  t.equal(reader.read('r', { q: '2' }), 'new', 'it comes after all (sent later, after Redis moved): applied')
  t.equal(reader.read('r', { q: '4' }), 'new', 'and nothing is missing')
})

t.test('a heartbeat says how far a writer\'s numbers went: acknowledged entries missing before it are a loss', async (t) => {
  const reader = createSequenceReader()
  t.equal(reader.read('w', { q: '5' }, true), 'new', 'a writer met by its heartbeat is not tracked yet')
  t.equal(reader.read('w', { q: '5' }), 'new', 'so its entry 5 after the heartbeat is applied')
  t.equal(reader.read('w', { q: '5' }, true), 'new', 'nothing missing')
  t.equal(reader.read('w', { q: '7', s: '5' }, true), 'new', '6 and 7 in flight')
  t.equal(reader.read('w', { q: '6' }), 'new', 'arrives after the heartbeat: applied')
  t.equal(reader.read('w', { q: '8' }, true), 'lost', '7 answered and missing')
  t.equal(reader.read('w', { q: '9' }), 'new', 'judged once: what follows is new')
})

t.test('a writer that restarts is a new writer (a new node id), starting where it is first read', async (t) => {
  const reader = createSequenceReader()
  reader.read('before-restart', { q: '40' })
  t.equal(reader.read('after-restart', { q: '1' }), 'new')
  t.equal(reader.read('after-restart', { q: '2' }), 'new')
})

t.test('bounds: the writers tracked (the one heard from longest ago forgotten first) and the numbers awaiting judgement', async (t) => {
  const reader = createSequenceReader(3)
  reader.read('a', { q: '1' })
  reader.read('b', { q: '1' })
  reader.read('c', { q: '1' })
  reader.read('a', { q: '2' })
  reader.read('d', { q: '1' })
  t.equal(reader.size, 3)
  t.notOk(reader.seen('b', 1), 'b, heard from longest ago, is forgotten')
  t.equal(reader.read('b', { q: '5' }), 'new', 'and starts again where it is next read')
  t.ok(reader.seen('a', 2), 'a was heard from again lately and is kept')
  t.equal(reader.read('a', { q: String(MAX_UNSETTLED + 10), s: '2' }), 'lost', 'a jump too far to follow counts as a loss')
  t.equal(reader.read('a', { q: String(MAX_UNSETTLED + 11) }), 'new', 'and starts again after it')
})

t.test('forget and reset: a writer starts again where it is next read', async (t) => {
  const reader = createSequenceReader()
  reader.read('dead', { q: '3' })
  reader.read('alive', { q: '3' })
  reader.forget('dead')
  t.equal(reader.read('dead', { q: '9' }), 'new', 'a forgotten (dead) writer')
  reader.reset()
  t.equal(reader.size, 0)
  t.equal(reader.read('alive', { q: '9' }), 'new', 'after entries were trimmed unread')
})

t.test('writer and reader together: an entry acknowledged after the next was sent, then lost, is found', async (t) => {
  const writer = createAppendSequence()
  const reader = createSequenceReader()
  const first = writer.take()
  writer.settled(first.number, true, first.says)
  reader.read('w', first.fields)
  const lostOne = writer.take()
  // Sent while the first was unanswered; Redis moved and it was stored on the new primary.
  const queued = writer.take()
  writer.settled(lostOne.number, true, lostOne.says)
  writer.settled(queued.number, true, queued.says)
  t.equal(reader.read('w', queued.fields), 'new', 'not judged from an entry sent before the answer')
  t.equal(reader.read('w', writer.checkpoint() as Record<string, string>, true), 'lost', 'the next heartbeat tells')
})

t.test('tracked: the writers whose entries were read, not one only heard from by a heartbeat', async (t) => {
  const reader = createSequenceReader()
  reader.read('a', { q: '1' })
  reader.read('b', { q: '4' })
  reader.read('beating', { q: '2' }, true)
  t.same(reader.tracked().sort(), ['a', 'b'])
  reader.forget('a')
  t.same(reader.tracked(), ['b'], 'a forgotten writer is not')
})
