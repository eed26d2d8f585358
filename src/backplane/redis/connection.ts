// The Redis connection of cluster mode, made here and nowhere else: one Redis (REDIS_URL), a
// Sentinel-managed primary (REDIS_SENTINELS) or a Redis Cluster (REDIS_CLUSTER_NODES). It
// connects at start (or fails clearly), then reconnects by itself for as long as the bridge runs,
// following the sentinels to a new primary and the cluster to its new slot owners.
import { createClient, createCluster, createSentinel } from 'redis'
import { describeAccess, type RedisAccess } from '../../ops/redis-access.ts'
import { describeRedisUrl } from '../../ops/redis-url.ts'
import { within } from './deadline.ts'

export const STARTUP_WAIT_MS = 5000
/** Longest wait for one Redis command: a publish while Redis is away fails after this. */
export const COMMAND_TIMEOUT_MS = 5000

export class RedisUnreachableError extends Error {
  override name = 'RedisUnreachableError'
}

export interface RedisAddress {
  host: string
  port: number
}

export type RedisDeployment =
  | { kind: 'single', url: string, ca?: string }
  | { kind: 'sentinel', sentinels: readonly RedisAddress[], name: string, access?: RedisAccess, sentinelAccess?: RedisAccess }
  | { kind: 'cluster', nodes: readonly RedisAddress[], access?: RedisAccess }

function addresses (nodes: readonly RedisAddress[]): string {
  return nodes.map(({ host, port }) => `${host.includes(':') ? `[${host}]` : host}:${port}`).join(', ')
}

/** The deployment as log lines name it: never a password. */
export function describeDeployment (deployment: RedisDeployment): string {
  switch (deployment.kind) {
    case 'single': return `Redis at ${describeRedisUrl(deployment.url)}`
    case 'sentinel': return `the Redis primary "${deployment.name}"${describeAccess(deployment.access)} of the sentinels ${addresses(deployment.sentinels)}${describeAccess(deployment.sentinelAccess)}`
    case 'cluster': return `the Redis Cluster of ${addresses(deployment.nodes)}${describeAccess(deployment.access)}`
  }
}

function reconnectDelay (retries: number): number {
  return Math.min(100 * 2 ** retries, 2000)
}

type GiveUpAt = () => number | undefined

function reconnectStrategy (giveUpAt: GiveUpAt) {
  return (retries: number, cause: Error) => {
    const deadline = giveUpAt()
    return deadline !== undefined && Date.now() >= deadline ? cause : reconnectDelay(retries)
  }
}

function createRedisClient (url: string, name: string, giveUpAt: GiveUpAt, ca?: string) {
  // A rediss:// URL turns TLS on; the CAs to verify it with can only be options.
  const tls = ca === undefined ? {} : { tls: true as const, ca }
  return createClient({
    url,
    // Shown by CLIENT LIST, so operators can tell the bridge's connections apart.
    name,
    RESP: 2,
    commandOptions: { timeout: COMMAND_TIMEOUT_MS },
    socket: { ...tls, reconnectStrategy: reconnectStrategy(giveUpAt) }
  })
}

/**
 * The commands the bridge sends, whatever the deployment: node-redis's Sentinel and Cluster
 * clients take the same calls as its client of one Redis (duplicate, connect, isReady, the
 * 'error', 'reconnecting' and 'ready' events), and route them to the primary that owns the key.
 */
export type RedisClient = ReturnType<typeof createRedisClient>

/** Options of the connections a Sentinel or Cluster client opens: credentials, and TLS with its CAs. */
function clientOptions (access: RedisAccess | undefined, giveUpAt: GiveUpAt, name?: string) {
  const tls = access?.tls === undefined ? {} : { tls: true as const, ...(access.tls.ca === undefined ? {} : { ca: access.tls.ca }) }
  return {
    ...(name === undefined ? {} : { name }),
    ...(access?.password === undefined ? {} : { username: access.username, password: access.password }),
    socket: { ...tls, reconnectStrategy: reconnectStrategy(giveUpAt) }
  }
}

function createSentinelClient (deployment: Extract<RedisDeployment, { kind: 'sentinel' }>, name: string, giveUpAt: GiveUpAt): RedisClient {
  const sentinel = createSentinel({
    name: deployment.name,
    sentinelRootNodes: [...deployment.sentinels],
    RESP: 2,
    commandOptions: { timeout: COMMAND_TIMEOUT_MS },
    // The primary's errors are the ones that say Redis is unreachable.
    passthroughClientErrorEvents: true,
    nodeClientOptions: clientOptions(deployment.access, giveUpAt, name),
    sentinelClientOptions: clientOptions(deployment.sentinelAccess, giveUpAt)
  })
  return sentinel as unknown as RedisClient
}

function createClusterClient (deployment: Extract<RedisDeployment, { kind: 'cluster' }>, name: string, giveUpAt: GiveUpAt): RedisClient {
  const cluster = createCluster({
    rootNodes: deployment.nodes.map((node) => ({ socket: { host: node.host, port: node.port } })),
    RESP: 2,
    commandOptions: { timeout: COMMAND_TIMEOUT_MS },
    defaults: clientOptions(deployment.access, giveUpAt, name)
  })
  return cluster as unknown as RedisClient
}

function createDeploymentClient (deployment: RedisDeployment, name: string, giveUpAt: GiveUpAt): RedisClient {
  switch (deployment.kind) {
    case 'single': return createRedisClient(deployment.url, name, giveUpAt, deployment.ca)
    case 'sentinel': return createSentinelClient(deployment, name, giveUpAt)
    case 'cluster': return createClusterClient(deployment, name, giveUpAt)
  }
}

/** Attempts are repeated for up to STARTUP_WAIT_MS at start; once connected, it reconnects without end. */
export async function connectDeployment (deployment: RedisDeployment, name: string): Promise<RedisClient> {
  let deadline: number | undefined = Date.now() + STARTUP_WAIT_MS
  const client = createDeploymentClient(deployment, name, () => deadline)
  // An 'error' event without a listener would stop the process; readiness and log lines report it.
  // A Cluster client's connect only says no root node answered, a Sentinel client's that it timed out:
  // the last error says why (WRONGPASS, NOAUTH, a certificate).
  let lastError: Error | undefined
  client.on('error', (error: Error) => { lastError = error })
  try {
    // Sentinel and Cluster clients retry discovery by themselves: the deadline stops them too.
    await within(client.connect(), STARTUP_WAIT_MS + 500, 'connecting')
  } catch (error) {
    Promise.resolve(client.destroy()).catch(() => {})
    const message = error instanceof Error ? error.message : String(error)
    const reason = lastError === undefined || message.includes(lastError.message) ? message : `${lastError.message}; ${message}`
    throw new RedisUnreachableError(
      `cluster mode: ${describeDeployment(deployment)} is unreachable (${reason}); gave up after ${STARTUP_WAIT_MS / 1000} s`
    )
  }
  deadline = undefined
  return client
}

/** One Redis at `url`. */
export async function connectRedis (url: string, name: string): Promise<RedisClient> {
  return await connectDeployment({ kind: 'single', url }, name)
}
