// A node killed (SIGKILL) while publishes are in flight on it, for the crash-safe publish tests
// on every Redis deployment.
import type { Test } from 'tap'
import type { Env } from '../../src/config/index.ts'
import { connectClient, freePort, postJson, recordEvents, startBridge, startServer, subscribe, waitFor } from './bridge.ts'

/** Publishes sent at once to the node that is killed. */
export const IN_FLIGHT = 8

/**
 * A new node on `env` takes publishes to room `room`, IN_FLIGHT at a time, until it is killed
 * in the middle of them. Answers every uuid sent, and those it had not answered 202.
 */
export async function killedWhilePublishing (t: Test, env: Env, round: number, room = 'chat_crash') {
  const port = await freePort()
  const node = startServer({ ...env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info' })
  t.teardown(() => { node.child.kill('SIGKILL') })
  await node.logLine('Server listening')
  const unanswered: string[] = []
  let sent = 0
  const state = { killed: false }
  const publishers = Array.from({ length: IN_FLIGHT }, async () => {
    while (!state.killed) {
      const uuid = `crash-${round}-${sent++}`
      const answer = await postJson(`http://127.0.0.1:${port}`, '/api/sms/new-message', { room, uuid, message: { text: uuid } }).catch(() => undefined)
      if (answer === undefined || answer.status !== 202) unanswered.push(uuid)
    }
  })
  await waitFor(() => sent >= 200, 'publishes to the node that is killed')
  node.child.kill('SIGKILL')
  state.killed = true
  await Promise.all(publishers)
  return { sent: Array.from({ length: sent }, (_, n) => `crash-${round}-${n}`), unanswered }
}

/** How a publisher's queue retries a publish: its final answer's status, and how many times it was told to wait (503). */
export type Retry = (url: string, body: unknown) => Promise<{ status: number, refused: number }>

/**
 * Three nodes of `env` killed in turn with publishes in flight, each unanswered one retried on a
 * node that stays (`retry`): every uuid is delivered, and a retry is answered as a duplicate
 * only for an event its subscribers got.
 */
export async function retriedAfterCrashes (t: Test, env: Env, retry: Retry): Promise<void> {
  const a = await startBridge(t, env)
  const client = await connectClient(t, a.url)
  await subscribe(client, 'chat_crash')
  const received = recordEvents(client)
  const delivered = () => new Set(received.map(({ data }) => (data as { uuid: string }).uuid))

  // Three nodes killed in turn: the moment between claim and append is short.
  let inFlight = 0
  for (const round of [1, 2, 3]) {
    const { sent, unanswered } = await killedWhilePublishing(t, env, round)
    // A kill can land between two requests of every publisher: the rounds together must catch some.
    inFlight += unanswered.length
    // The queue retries each on node A.
    const duplicates: string[] = []
    let refused = 0
    for (const uuid of unanswered) {
      const answer = await retry(a.url, { room: 'chat_crash', uuid, message: { text: uuid } })
      refused += answer.refused
      if (answer.status === 200) duplicates.push(uuid)
      else t.equal(answer.status, 202, `retry of ${uuid} accepted`)
    }
    t.comment(`round ${round}: ${unanswered.length} in flight, ${refused} retries answered 503 (pending), ${duplicates.length} duplicates`)
    await waitFor(() => sent.every((uuid) => delivered().has(uuid)), 'every uuid to be delivered', 10_000).catch(() => {})
    t.same(sent.filter((uuid) => !delivered().has(uuid)), [], `round ${round}: every uuid delivered at least once`)
    t.same(duplicates.filter((uuid) => !delivered().has(uuid)), [], `round ${round}: no retry answered duplicate for an event nobody got`)
  }
  t.ok(inFlight > 0, `${inFlight} publishes were in flight when their node died`)
}
