// The socket.io adapter of cluster mode (Redis Streams), made safe to run while Redis comes and
// goes, and able to tell the publisher whether a broadcast reached Redis.
import { createAdapter } from '@socket.io/redis-streams-adapter'
import { within } from './deadline.ts'
import { COMMAND_TIMEOUT_MS, type RedisClient } from './redis-connection.ts'

type StreamsAdapter = ReturnType<ReturnType<typeof createAdapter>>

export interface ClusterAdapter {
  /** The adapter factory for `io.adapter(...)`. */
  adapter: (nsp: unknown) => StreamsAdapter
  /**
   * Runs `emit` and resolves once every broadcast it made is stored in Redis; rejects when
   * Redis refused one or did not answer within COMMAND_TIMEOUT_MS. socket.io's emit returns
   * before the adapter writes to Redis, and the adapter itself only logs a failed write.
   */
  confirmBroadcast: (emit: () => void) => Promise<void>
  /** Resolves once the adapter's own connections are up, so it reads every event from then on. */
  connected: () => Promise<void>
  /** Stops the adapter and disconnects the clients it opened (the given client stays open). */
  close: () => Promise<void>
}

/** What the guarded client opened: the adapter's own connections. */
interface Opened {
  clients: Set<RedisClient>
  connecting: Array<Promise<unknown>>
}

/**
 * The client as the adapter gets it. The adapter sends some commands without waiting for
 * them (session persistence, requests to other nodes) and connects its own duplicates of the
 * client; while Redis is away any of those could reject with nobody listening, and an
 * unhandled rejection stops the process. Every promise the client returns is therefore also
 * observed here (callers that wait still get the rejection), and duplicates are kept to be
 * waited for at start and disconnected on close.
 */
function guardedClient (client: RedisClient, opened: Opened): RedisClient {
  return new Proxy(client, {
    get (target, property) {
      const value: unknown = Reflect.get(target, property, target)
      if (typeof value !== 'function' || property === 'constructor') return value
      const method = value as (...args: unknown[]) => unknown
      if (property === 'duplicate') {
        return (...args: unknown[]) => {
          const duplicate = method.apply(target, args) as RedisClient
          duplicate.on('error', () => {})
          opened.clients.add(duplicate)
          return guardedClient(duplicate, opened)
        }
      }
      return (...args: unknown[]) => {
        const result = method.apply(target, args)
        if (result instanceof Promise) {
          // A duplicate's connect only fails when it is closed before Redis came back;
          // the adapter awaits it inside promises nobody observes.
          if (property === 'connect') {
            const connecting = result.catch(() => {})
            opened.connecting.push(connecting)
            return connecting
          }
          result.catch(() => {})
        }
        return result
      }
    }
  })
}

export function clusterAdapter (client: RedisClient, prefix: string): ClusterAdapter {
  const opened: Opened = { clients: new Set(), connecting: [] }
  const createStreamsAdapter = createAdapter(guardedClient(client, opened), {
    streamName: `${prefix}stream`,
    channelPrefix: `${prefix}io`,
    sessionKeyPrefix: `${prefix}session:`,
    // Below the command timeout, so a blocking read is never cut short by it.
    blockTimeInMs: 2000
  })
  const instances: StreamsAdapter[] = []
  let writes: Array<Promise<unknown>> | undefined

  function adapter (nsp: unknown): StreamsAdapter {
    const instance = createStreamsAdapter(nsp)
    instances.push(instance)
    const doPublish = instance.doPublish.bind(instance)
    // A broadcast calls doPublish synchronously inside emit(): collect the write it starts.
    instance.doPublish = (message) => {
      const written: Promise<unknown> = doPublish(message)
      writes?.push(written)
      return written
    }
    return instance
  }

  async function confirmBroadcast (emit: () => void): Promise<void> {
    const started: Array<Promise<unknown>> = []
    writes = started
    try {
      emit()
    } finally {
      writes = undefined
    }
    await within(Promise.all(started), COMMAND_TIMEOUT_MS, 'storing the event')
  }

  async function close (): Promise<void> {
    // Closing the adapters first stops their stream readers: a reader whose client is gone
    // but which was not told to stop would retry at once, forever. (socket.io closes them
    // again when `io` closes; that is harmless.)
    for (const instance of instances.splice(0)) await instance.close()
    for (const duplicate of opened.clients) duplicate.destroy()
    opened.clients.clear()
  }

  async function connected (): Promise<void> {
    await Promise.all(opened.connecting)
  }

  return { adapter, confirmBroadcast, connected, close }
}
