// Bounds on the calls to Laravel's `/broadcasting/auth`: a fixed number in flight on the node, a
// bounded wait in front of them, and a few per connection with its others queued behind them.
// Past a bound a call is refused at once.

export interface CallLimits {
  concurrency: number
  /** Calls waiting for one of those slots, node-wide; past it a call is refused. */
  maxWaiting: number
  waitTimeoutMs: number
  /** Calls of one connection in flight or waiting for a slot; its others queue behind them. */
  perConnection: number
  /** Calls of one connection in all (in flight, waiting, queued); past it a call is refused. */
  maxPerConnection: number
}

export type CallRefusal = 'node_busy' | 'wait_timeout' | 'connection_busy' | 'released'

export type CallOutcome<T> = { ran: true, value: T } | { ran: false, reason: CallRefusal }

interface Call {
  connection: ConnectionCalls
  task: (signal: AbortSignal) => Promise<unknown>
  state: 'queued' | 'waiting' | 'running'
  released: boolean
  controller?: AbortController
  timer?: NodeJS.Timeout
  resolve: (outcome: CallOutcome<unknown>) => void
  reject: (error: unknown) => void
}

interface ConnectionCalls {
  key: object
  admitted: number
  queue: Call[]
  calls: Set<Call>
}

export function createCallLimiter (limits: CallLimits) {
  const { concurrency, maxWaiting, waitTimeoutMs, perConnection, maxPerConnection } = limits
  const connections = new Map<object, ConnectionCalls>()
  const waiting = new Set<Call>()
  let running = 0
  let queued = 0

  function start (call: Call): void {
    running++
    call.state = 'running'
    call.controller = new AbortController()
    let promise: Promise<unknown>
    try {
      promise = call.task(call.controller.signal)
    } catch (error) {
      promise = Promise.reject(error)
    }
    promise.then(
      (value) => finish(call, { ran: true, value }),
      (error: unknown) => finish(call, undefined, error)
    )
  }

  function admit (call: Call): void {
    const { connection } = call
    if (running < concurrency) {
      connection.admitted++
      start(call)
    } else if (waiting.size < maxWaiting) {
      connection.admitted++
      call.state = 'waiting'
      waiting.add(call)
      call.timer = setTimeout(() => finish(call, { ran: false, reason: 'wait_timeout' }), waitTimeoutMs)
    } else {
      connection.calls.delete(call)
      call.resolve({ ran: false, reason: 'node_busy' })
    }
  }

  function promote (connection: ConnectionCalls): void {
    while (connection.admitted < perConnection && connection.queue.length > 0) {
      const next = connection.queue.shift() as Call
      queued--
      admit(next)
    }
    if (connection.calls.size === 0) connections.delete(connection.key)
  }

  function finish (call: Call, outcome: CallOutcome<unknown> | undefined, error?: unknown): void {
    const { connection } = call
    if (!connection.calls.delete(call)) return
    connection.admitted--
    if (call.state === 'running') {
      running--
    } else {
      waiting.delete(call)
      clearTimeout(call.timer)
    }
    if (call.released) call.resolve({ ran: false, reason: 'released' })
    else if (outcome === undefined) call.reject(error)
    else call.resolve(outcome)
    // Calls already waiting go first; then this connection's own queue.
    while (running < concurrency && waiting.size > 0) {
      const next = waiting.values().next().value as Call
      waiting.delete(next)
      clearTimeout(next.timer)
      start(next)
    }
    promote(connection)
  }

  return {
    /** Runs `task` within the bounds, or refuses it; its signal aborts when the connection is released. */
    run<T> (key: object, task: (signal: AbortSignal) => Promise<T>): Promise<CallOutcome<T>> {
      let connection = connections.get(key)
      if (connection === undefined) {
        connection = { key, admitted: 0, queue: [], calls: new Set() }
        connections.set(key, connection)
      }
      if (connection.calls.size >= maxPerConnection) return Promise.resolve({ ran: false, reason: 'connection_busy' })
      const owner = connection
      return new Promise<CallOutcome<T>>((resolve, reject) => {
        const call: Call = {
          connection: owner,
          task,
          state: 'queued',
          released: false,
          resolve: resolve as (outcome: CallOutcome<unknown>) => void,
          reject
        }
        owner.calls.add(call)
        if (owner.admitted < perConnection) {
          admit(call)
          if (owner.calls.size === 0) connections.delete(key)
        } else {
          owner.queue.push(call)
          queued++
        }
      })
    },

    release (key: object): void {
      const connection = connections.get(key)
      if (connection === undefined) return
      queued -= connection.queue.length
      for (const call of connection.queue.splice(0)) {
        connection.calls.delete(call)
        call.resolve({ ran: false, reason: 'released' })
      }
      for (const call of [...connection.calls]) {
        call.released = true
        if (call.state === 'waiting') finish(call, undefined)
        else call.controller?.abort()
      }
      if (connection.calls.size === 0) connections.delete(key)
    },

    get inFlight (): number { return running },
    get waiting (): number { return waiting.size },
    get queued (): number { return queued },
    get connections (): number { return connections.size }
  }
}

export type CallLimiter = ReturnType<typeof createCallLimiter>
