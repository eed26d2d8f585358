// Redis for the tests: a prefix of its own per test on a shared Redis (its keys removed
// afterwards), and a private redis-server a test may stop and start again.
import { spawn, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { createClient } from 'redis'
import type { Test } from 'tap'
import type { Env } from '../../src/config/index.ts'
import { freePort } from './bridge.ts'

/**
 * The shared Redis every test uses, the one place that reads it: `TEST_REDIS_URL`, else the
 * machine's Redis. Tests never flush it, they only remove their own keys.
 */
export const SHARED_REDIS_URL = process.env.TEST_REDIS_URL || 'redis://127.0.0.1:6379'

/** A plain client for looking into Redis, closed when the test ends. */
export async function redisClient (t: Test, url = SHARED_REDIS_URL) {
  const client = createClient({ url })
  client.on('error', () => {})
  await client.connect()
  t.teardown(() => { client.destroy() })
  return client
}

/**
 * Environment for bridges of one cluster: a prefix unique to this test, so concurrent runs
 * never share streams, channels or keys. Its keys are removed when the test ends (after the
 * bridges close: teardowns run last-registered first).
 */
export function clusterEnv (t: Test, url = SHARED_REDIS_URL): Env & { BRIDGE_REDIS_PREFIX: string } {
  const prefix = `test:${randomUUID()}:`
  t.teardown(async () => {
    const client = createClient({ url })
    client.on('error', () => {})
    try {
      await client.connect()
      for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
        if (keys.length > 0) await client.del(keys)
      }
    } catch {
      // A private Redis may be gone already; its keys went with it.
    } finally {
      client.destroy()
    }
  })
  return { REDIS_URL: url, BRIDGE_REDIS_PREFIX: prefix }
}

export interface PrivateRedis {
  url: string
  /** Kills the server (as a crash would), and resolves once it is gone. */
  stop: () => Promise<void>
  /** Starts it again on the same port, empty. */
  start: () => Promise<void>
  /** Freezes the server (SIGSTOP): connections stay open, nothing is answered. */
  pause: () => void
  /** Lets a frozen server go on (SIGCONT). */
  resume: () => void
}

/** A redis-server of this test's own, on a free port, without persistence; `settings` are more `--name value` arguments. */
export async function privateRedis (t: Test, settings: string[] = []): Promise<PrivateRedis> {
  const port = await freePort()
  let child: ChildProcess | undefined

  async function start (): Promise<void> {
    const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...settings], {
      stdio: ['ignore', 'pipe', 'pipe']
    })
    child = server
    let output = ''
    await new Promise<void>((resolve, reject) => {
      server.stdout?.on('data', (chunk: Buffer) => {
        output += chunk
        if (output.includes('Ready to accept connections')) resolve()
      })
      server.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${output}`)))
    })
  }

  async function stop (): Promise<void> {
    const server = child
    child = undefined
    if (server === undefined || server.exitCode !== null) return
    const exited = once(server, 'exit')
    server.kill('SIGKILL')
    await exited
  }

  t.teardown(stop)
  await start()
  return {
    url: `redis://127.0.0.1:${port}`,
    stop,
    start,
    pause: () => { child?.kill('SIGSTOP') },
    resume: () => { child?.kill('SIGCONT') }
  }
}

/** Resolves once `condition` holds, checking every 50 ms; fails the wait after `ms`. */
export async function waitFor (what: string, condition: () => Promise<boolean>, ms = 15000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
