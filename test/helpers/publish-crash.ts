// A node killed (SIGKILL) while publishes are in flight on it, for the crash-safe publish tests
// on every Redis deployment.
import type { Test } from 'tap'
import type { Env } from '../../src/config/index.ts'
import { freePort, postJson, startServer, waitFor } from './bridge.ts'

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
