// The benchmark's Echo crowd against a real bridge: its subscriptions are Echo's, and its
// presence bookkeeping counts what the presence scenario reports (members known, leavings).
import t, { type Test } from 'tap'
import { io, type Socket } from 'socket.io-client'
import { echoSubscribe, presenceHandlers } from '../../../bench/crowd-echo.ts'
import { socketToken } from '../../../bench/tokens.ts'
import { secrets, startBridge, waitFor } from '../../helpers/bridge.ts'

const channel = 'presence-room'

async function connectMembers (t: Test, url: string, count: number, prefix: string): Promise<Socket[]> {
  return Promise.all(Array.from({ length: count }, async (_, i) => {
    const token = socketToken(secrets.jwtSecret, `${prefix}-${i}`, [channel], { user_info: { name: `User ${i}` } })
    const socket = io(url, { transports: ['websocket'], reconnection: false, forceNew: true, auth: { token, headers: {} } })
    t.teardown(() => { socket.disconnect() })
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve)
      socket.once('connect_error', reject)
    })
    return socket
  }))
}

t.test('echoSubscribe resolves on subscription_succeeded and rejects with the status of subscription_error', async (t) => {
  const { url } = await startBridge(t, { BRIDGE_JWT_SECRET: secrets.jwtSecret })
  const [socket] = await connectMembers(t, url, 1, 'user')
  await echoSubscribe(socket as Socket, 'lobby')
  await t.rejects(echoSubscribe(socket as Socket, 'presence-other'), /refused with 403/)
})

t.test('presence bookkeeping: every member known once, one leaving per pair, the watched joining timed', async (t) => {
  const { url } = await startBridge(t, { BRIDGE_JWT_SECRET: secrets.jwtSecret })
  const members = await connectMembers(t, url, 6, 'user')
  const [probe] = await connectMembers(t, url, 1, 'probe')
  // `member-i` names one member, to make it leave alone.
  const handlers = presenceHandlers((name) => {
    if (name === 'members') return members
    if (name.startsWith('member-')) return [members[Number(name.slice('member-'.length))] as Socket]
    return [probe as Socket]
  })
  const counts = () => handlers.presenceCount({ name: 'members', channel })

  handlers.presenceJoin({ name: 'members', channel })
  await waitFor(() => counts().knownTotal === 36, 'every member to know all six')
  handlers.presenceWatch({ name: 'members', channel, userId: 'probe-0' })
  const sentAt = handlers.presenceJoin({ name: 'probe', channel })
  await waitFor(() => counts().watchedArrivals === 6, 'the probe\'s joining at every member')
  const joined = handlers.presenceReport({ name: 'members', channel })
  t.same(joined.known, [7, 7, 7, 7, 7, 7], 'six members and the probe')
  t.equal(joined.subscribed, 6)
  t.equal(joined.duplicates, 0)
  t.equal(joined.refusals, 0)
  t.ok(joined.watchedAt.every((at) => at >= sentAt), 'arrivals after the probe\'s subscribe')
  t.same(counts().knownTotal, 0, 'a report starts the next round from nothing')

  handlers.presenceLeave({ name: 'probe', channel })
  await waitFor(() => counts().leavings === 6, 'the probe\'s leaving at every member')
  handlers.presenceReport({ name: 'members', channel })
  // A leaving is announced when its one-second hold ends, to the members still there then
  // (docs/echo.md): the six leave one by one, each once the one before is announced.
  let leavings = 0
  for (let i = 0; i < members.length; i++) {
    const stillThere = members.length - 1 - i
    handlers.presenceLeave({ name: `member-${i}`, channel })
    leavings += stillThere
    await waitFor(() => counts().leavings === leavings, `member ${i}'s leaving at the ${stillThere} still there`)
  }
  // The last one's leaving, announced to nobody, is held for a second: any extra one would be here by then.
  await new Promise((resolve) => setTimeout(resolve, 1500))
  t.equal(counts().leavings, 15, 'one leaving per pair of the six, and no more')
  t.same(counts().disconnects, {})

  // Joining again after leaving works the same (the scenario's repeats).
  handlers.presenceJoin({ name: 'members', channel })
  await waitFor(() => counts().knownTotal === 36, 'every member to know all six again')
  t.equal(handlers.presenceReport({ name: 'members', channel }).duplicates, 0)
})

t.test('a connection the bridge drops is counted with its reason', async (t) => {
  const { fastify, url } = await startBridge(t, { BRIDGE_JWT_SECRET: secrets.jwtSecret })
  const members = await connectMembers(t, url, 2, 'user')
  const handlers = presenceHandlers(() => members)
  handlers.presenceJoin({ name: 'members', channel })
  await waitFor(() => handlers.presenceCount({ name: 'members', channel }).knownTotal === 4, 'both members')
  fastify.io.disconnectSockets(true)
  await waitFor(() => (handlers.presenceCount({ name: 'members', channel }).disconnects['io server disconnect'] ?? 0) === 2, 'both disconnects counted')
  t.same(handlers.presenceCount({ name: 'members', channel }).disconnects, { 'io server disconnect': 2 })
})
