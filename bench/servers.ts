// The servers under test as child processes: the bridge (`src/server.ts`, the real entry
// point) and the bare Fastify route used as the ceiling, each with the probe loaded.
import { createServer } from 'node:net'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { BenchChild, root } from './ipc.ts'
import type { Usage } from './probe.ts'

const probe = join(root, 'bench', 'probe.ts')

export function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
    server.once('error', reject)
  })
}

export class ServerProcess {
  readonly name: string
  readonly url: string
  readonly child: BenchChild

  constructor (name: string, url: string, child: BenchChild) {
    this.name = name
    this.url = url
    this.child = child
  }

  usage (gc = false): Promise<Usage> {
    return this.child.request<Usage>('usage', { gc })
  }

  heapSnapshot (file: string): Promise<string> {
    return this.child.request('heapSnapshot', { file })
  }

  profileStart (): Promise<void> {
    return this.child.request('profileStart')
  }

  profileStop (file: string): Promise<string> {
    return this.child.request('profileStop', { file })
  }

  stop (): Promise<void> {
    return this.child.stop()
  }
}

async function waitHealthy (url: string, child: BenchChild, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child.process.exitCode !== null) throw new Error(`${child.name} exited with ${child.process.exitCode} before answering`)
    try {
      const response = await fetch(`${url}/health`)
      if (response.ok) return
    } catch {
      // Not listening yet.
    }
    await sleep(100)
  }
  throw new Error(`${child.name} did not answer ${url}/health within ${timeoutMs} ms`)
}

export interface StartOptions {
  name: string
  /**
   * `bridge` runs src/server.ts, `bare` the validate-and-answer route, `socket.io`/`ws` the
   * fan-out yardsticks, `laravel-echo-server` its HTTP API (key: `ECHO_KEY` in `env`).
   */
  kind: 'bridge' | 'bare' | 'socket.io' | 'ws' | 'laravel-echo-server'
  env: Record<string, string>
  logFile: string
  /** A working directory without a `.env`, so the developer's settings do not leak in. */
  cwd: string
  /** Where the bridge's sources are: this checkout unless given (`--baseline` runs another revision's). */
  root?: string
}

export async function startServer (options: StartOptions): Promise<ServerProcess> {
  const port = await freePort()
  const entry = {
    bridge: join(options.root ?? root, 'src', 'server.ts'),
    bare: join(root, 'bench', 'bare-server.ts'),
    'socket.io': join(root, 'bench', 'reference-server.ts'),
    ws: join(root, 'bench', 'reference-server.ts'),
    'laravel-echo-server': join(root, 'bench', 'echo-server-reference.ts')
  }[options.kind]
  const child = new BenchChild(options.name, entry, {
    cwd: options.cwd,
    execArgv: ['--import', probe, '--expose-gc'],
    env: { ...options.env, HOST: '127.0.0.1', PORT: String(port), REFERENCE: options.kind },
    logFile: options.logFile
  })
  const url = `http://127.0.0.1:${port}`
  await waitHealthy(url, child)
  return new ServerProcess(options.name, url, child)
}
