// Request/answer messages between the benchmark's orchestrator and its child processes.
import { fork, type ChildProcess } from 'node:child_process'
import { closeSync, openSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

interface Request { id: number, type: string, data: unknown }
interface Answer { id: number, ok: boolean, result?: unknown, error?: string }

type Handler = (data: never) => unknown

/** The repository root: every child resolves its modules from here. */
export const root = fileURLToPath(new URL('..', import.meta.url))
/** tsx as a file URL, so a child can load TypeScript whatever its working directory. */
export const tsxLoader = import.meta.resolve('tsx')

const running = new Set<ChildProcess>()

/** Kills every child still running (SIGKILL: used when the run ends or fails). */
export function killAll (): void {
  for (const child of running) child.kill('SIGKILL')
  running.clear()
}
process.once('exit', killAll)
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAll()
    process.exit(130)
  })
}

export interface ChildOptions {
  args?: string[]
  execArgv?: string[]
  env?: Record<string, string>
  cwd?: string
  /** File that receives the child's stdout and stderr (the kernel writes it, not us). */
  logFile: string
}

/** A child process spoken to with `request`; killed with the run at the latest. */
export class BenchChild {
  readonly process: ChildProcess
  #nextId = 1
  readonly #pending = new Map<number, { resolve: (value: unknown) => void, reject: (error: Error) => void }>()

  readonly name: string

  constructor (name: string, modulePath: string, options: ChildOptions) {
    this.name = name
    const log = openSync(options.logFile, 'a')
    this.process = fork(modulePath, options.args ?? [], {
      cwd: options.cwd ?? root,
      execArgv: ['--import', tsxLoader, ...(options.execArgv ?? [])],
      env: { PATH: process.env.PATH ?? '', ...options.env },
      stdio: ['ignore', log, log, 'ipc'],
      serialization: 'advanced'
    })
    closeSync(log)
    running.add(this.process)
    this.process.on('message', (message: Answer) => {
      const pending = this.#pending.get(message.id)
      if (pending === undefined) return
      this.#pending.delete(message.id)
      if (message.ok) pending.resolve(message.result)
      else pending.reject(new Error(`${this.name}: ${message.error}`))
    })
    this.process.once('exit', (code, signal) => {
      running.delete(this.process)
      for (const { reject } of this.#pending.values()) {
        reject(new Error(`${this.name} exited (${signal ?? code}); see ${options.logFile}`))
      }
      this.#pending.clear()
    })
  }

  get pid (): number {
    return this.process.pid ?? -1
  }

  request<T> (type: string, data: unknown = {}, timeoutMs = 120_000): Promise<T> {
    const id = this.#nextId++
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id)
        reject(new Error(`${this.name}: no answer to ${type} within ${timeoutMs} ms`))
      }, timeoutMs)
      this.#pending.set(id, {
        resolve: (value) => { clearTimeout(timer); resolve(value as T) },
        reject: (error) => { clearTimeout(timer); reject(error) }
      })
      this.process.send({ id, type, data } satisfies Request)
    })
  }

  /** Asks the child to stop (SIGTERM), then kills it if it has not exited within `graceMs`. */
  async stop (graceMs = 5000): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return
    const exited = new Promise<void>((resolve) => this.process.once('exit', () => resolve()))
    this.process.kill('SIGTERM')
    const timer = setTimeout(() => this.process.kill('SIGKILL'), graceMs)
    await exited
    clearTimeout(timer)
  }
}

/**
 * The child's side: answers requests with `handlers`. The process leaves when its parent
 * goes, so nothing outlives a benchmark run. `keepAlive: false` lets a server that only
 * carries a probe exit on its own signals.
 */
export function serve (handlers: Record<string, Handler>, { keepAlive = true } = {}): void {
  if (process.send === undefined) throw new Error('not started by the benchmark (no IPC channel)')
  const send = process.send.bind(process)
  process.on('message', (message: Request) => {
    const handler = handlers[message.type]
    Promise.resolve()
      .then(() => {
        if (handler === undefined) throw new Error(`unknown request ${message.type}`)
        return handler(message.data as never)
      })
      .then(
        (result) => send({ id: message.id, ok: true, result } satisfies Answer),
        (error: unknown) => send({ id: message.id, ok: false, error: error instanceof Error ? error.stack ?? error.message : String(error) } satisfies Answer)
      )
  })
  process.on('disconnect', () => process.exit(0))
  if (!keepAlive) process.channel?.unref()
}
