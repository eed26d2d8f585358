// Channel occupancy for webhooks: each node's first and last subscription, and the cluster's.
import t from 'tap'
import { createOccupancy, type OccupancyChange } from '../../../../src/transport/occupancy.ts'

function occupancyWithLog () {
  const announced: OccupancyChange[][] = []
  const events: string[] = []
  const occupancy = createOccupancy((changes) => announced.push(changes), {
    occupied: (channel) => events.push(`occupied ${channel}`),
    vacated: (channel) => events.push(`vacated ${channel}`)
  })
  return { occupancy, announced, events }
}

t.test('a node announces its first and last subscription of a channel, whatever the count between', async (t) => {
  const { occupancy, announced } = occupancyWithLog()
  occupancy.add('private-a')
  occupancy.add('private-a')
  occupancy.remove('private-a')
  t.same(announced, [[['private-a', true]]])
  occupancy.remove('private-a')
  occupancy.remove('private-a')
  t.same(announced, [[['private-a', true]], [['private-a', false]]], 'the last one, once')
  t.same(occupancy.local(), [])
})

t.test('the cluster: occupied at the first node, vacated after the last, a dead node vacates its channels, snapshots replace', async (t) => {
  const { occupancy, events } = occupancyWithLog()
  occupancy.apply('n1', [['private-a', true], ['news', true]])
  occupancy.apply('n2', [['private-a', true]])
  occupancy.apply('n1', [['private-a', false]])
  t.same(events, ['occupied private-a', 'occupied news'])
  occupancy.forget('n2')
  t.same(events.slice(2), ['vacated private-a'], 'n2 died: its last channel is vacated')
  occupancy.replace('n1', ['private-b'])
  t.same(events.slice(3), ['vacated news', 'occupied private-b'], 'a snapshot says what changed')
  occupancy.replace('n1', ['private-b'])
  t.equal(events.length, 5, 'the same snapshot again changes nothing')
  t.equal(occupancy.channels, 1)
})

t.test('a hold keeps a dropped socket\'s channels occupied for a while', async (t) => {
  const { occupancy, announced } = occupancyWithLog()
  occupancy.add('private-a')
  occupancy.hold(['private-a'], 30)
  occupancy.remove('private-a')
  t.same(announced, [[['private-a', true]]], 'still occupied during the hold')
  await new Promise((resolve) => setTimeout(resolve, 60))
  t.same(announced.at(-1), [['private-a', false]], 'vacated when it ends')
})
