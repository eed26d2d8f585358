// Start-and-publish smoke test of a built bridge, for each supported Node line in CI
// (`node --import tsx scripts/smoke.ts` after `npm run build`): the bridge starts in open
// development mode, answers /health, delivers one publish to a subscribed socket.io client and
// exits 0 on SIGTERM. test/e2e/package/package.test.ts starts the installed package's command with it too.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { io as connect, type Socket } from 'socket.io-client'
import type { ClientToServerEvents, NewMessageEvent, ServerToClientEvents } from '../src/client.ts'

export interface RunningBridge {
  url: string
  output: () => string
  /** SIGTERM; resolves with the exit code. */
  stop: () => Promise<number | null>
}

/** Load shedding off: the machine may be busy with other work. */
const NO_LOAD_SHEDDING = {
  BRIDGE_MAX_EVENT_LOOP_DELAY: '0',
  BRIDGE_MAX_EVENT_LOOP_UTILIZATION: '0',
  BRIDGE_MAX_HEAP_USED_BYTES: '0',
  BRIDGE_MAX_RSS_BYTES: '0'
}

/** Runs `command` (the bridge) with only `env`, and resolves once it logs where it listens. */
export async function startBridgeCommand (command: string, args: string[], options: { cwd: string, env: Record<string, string> }): Promise<RunningBridge> {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: { NODE_ENV: 'development', ...NO_LOAD_SHEDDING, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  const exited = once(child, 'exit').then(([code]) => code as number | null)
  const url = await new Promise<string>((resolve, reject) => {
    const read = (chunk: Buffer) => {
      output += chunk.toString()
      const match = /Server listening at (http:\/\/[^"\s]+)/.exec(output)
      if (match?.[1] !== undefined) resolve(match[1])
    }
    child.stdout.on('data', read)
    child.stderr.on('data', read)
    child.once('error', reject)
    exited.then((code) => reject(new Error(`the bridge exited (${String(code)}) before listening:\n${output}`)), reject)
  })
  return {
    url,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      return await exited
    }
  }
}

/** /health answers, and a publish reaches a client subscribed to its room; throws saying which step failed. */
export async function checkPublish (url: string): Promise<void> {
  const health = await fetch(`${url}/health`)
  if (health.status !== 200) throw new Error(`GET /health answered ${health.status}`)

  const client: Socket<ServerToClientEvents, ClientToServerEvents> = connect(url, { transports: ['websocket'], reconnection: false, forceNew: true })
  try {
    await new Promise<void>((resolve, reject) => {
      client.once('connect', resolve)
      client.once('connect_error', reject)
    })
    const ack = await client.timeout(5000).emitWithAck('subscribe', { room: 'smoke' })
    if (!ack.ok) throw new Error(`subscribe answered ${JSON.stringify(ack)}`)
    const received = new Promise<NewMessageEvent>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the published new_message did not arrive within 5 s')), 5000)
      client.once('new_message', (event) => { clearTimeout(timer); resolve(event) })
    })
    const publish = await fetch(`${url}/api/sms/new-message`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ room: 'smoke', message: { text: 'smoke test' } })
    })
    if (publish.status !== 202) throw new Error(`POST /api/sms/new-message answered ${publish.status}: ${await publish.text()}`)
    const event = await received
    if (event.room !== 'smoke') throw new Error(`received ${JSON.stringify(event)}`)
  } finally {
    client.close()
  }
}

/** The built server (`dist/src/server.js`) on this Node, from an empty directory. */
async function main (): Promise<void> {
  const server = fileURLToPath(new URL('../dist/src/server.js', import.meta.url))
  const cwd = await mkdtemp(join(tmpdir(), 'bridge-smoke-'))
  let bridge: RunningBridge | undefined
  try {
    bridge = await startBridgeCommand(process.execPath, [server], { cwd, env: { PATH: process.env.PATH ?? '', PORT: '0' } })
    await checkPublish(bridge.url)
    const code = await bridge.stop()
    if (code !== 0) throw new Error(`the bridge exited ${String(code)} on SIGTERM`)
    process.stdout.write(`smoke: Node ${process.version}: started, /health 200, a publish delivered, exit 0 on SIGTERM\n`)
  } catch (error) {
    process.stderr.write(`smoke: Node ${process.version}: ${error instanceof Error ? error.message : String(error)}\n`)
    if (bridge !== undefined) process.stderr.write(bridge.output())
    process.exitCode = 1
    await bridge?.stop()
  } finally {
    await rm(cwd, { recursive: true, force: true })
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main()
