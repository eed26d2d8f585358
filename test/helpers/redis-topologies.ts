// Redis deployments a test starts for itself from Debian's redis-server, on free ports in a
// temporary directory, removed when the test ends: a Sentinel set (a primary, a replica and three
// sentinels) and a Redis Cluster (three primaries, each with a replica), each with passwords
// and TLS if asked.
import { spawn, execFile, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { createClient } from 'redis'
import type { Test } from 'tap'
import { freePort } from './bridge.ts'
import { waitFor } from './redis.ts'
import type { TestCertificates } from './tls-certificates.ts'

const run = promisify(execFile)

/** One redis-server process of a topology. */
export interface RedisProcess {
  port: number
  /** `host:port` as the bridge's variables list it. */
  address: string
  /** Kills it (as a crash would) and resolves once it is gone. */
  kill: () => Promise<void>
  alive: () => boolean
}

/** One the test started itself, which it can stop and resume. */
export interface PausableRedisProcess extends RedisProcess {
  /** Stops it (SIGSTOP) as a hung host would, until `resume` (SIGCONT); a kill resumes it first. */
  pause: () => void
  resume: () => void
}

interface Spawned extends PausableRedisProcess {
  child: ChildProcess
}

/** Starts redis-server in `dir` with `args`, resolved once it accepts connections. */
async function startServer (dir: string, port: number, args: string[]): Promise<Spawned> {
  const child = spawn('redis-server', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk
      // A sentinel says it is ready differently from a data node.
      if (/Ready to accept connections|Sentinel ID is/.test(output)) resolve()
    }
    child.stdout?.on('data', onData)
    child.once('exit', (code) => reject(new Error(`redis-server ${args.join(' ')} exited with ${code}: ${output}`)))
  })
  child.stdout?.resume()
  child.stderr?.resume()
  return {
    child,
    port,
    address: `127.0.0.1:${port}`,
    alive: () => child.exitCode === null && child.signalCode === null,
    pause: () => { child.kill('SIGSTOP') },
    resume: () => { child.kill('SIGCONT') },
    async kill () {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = once(child, 'exit')
      child.kill('SIGCONT')
      child.kill('SIGKILL')
      await exited
    }
  }
}

/** Without persistence, on loopback only. */
function dataNodeArgs (port: number): string[] {
  return ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']
}

/** What a topology's servers ask of their clients; nothing unless set. */
export interface RedisSecurity {
  /** `requirepass` (and `masterauth`) of every data node. */
  password?: string
  /** The sentinels' own `requirepass` (a Sentinel set only). */
  sentinelPassword?: string
  /** Every port is a TLS port, served with these certificates; clients need none of their own. */
  tls?: TestCertificates
}

/** How a client logs in to one kind of server of a topology. */
export interface RedisServerAccess {
  password?: string
  tls?: TestCertificates
}

/** One command to the Redis on 127.0.0.1:`port`, on a connection of its own. */
export async function command (port: number, ...args: string[]): Promise<unknown> {
  return await commandAs({}, port, ...args)
}

/** `command` to a server that asks for a password or TLS. */
export async function commandAs ({ password, tls }: RedisServerAccess, port: number, ...args: string[]): Promise<unknown> {
  const secure = tls === undefined ? {} : { tls: true as const, ca: readFileSync(tls.ca, 'utf8') }
  const client = createClient({ password, socket: { host: '127.0.0.1', port, reconnectStrategy: false, ...secure } })
  client.on('error', () => {})
  try {
    await client.connect()
    return await client.sendCommand(args)
  } finally {
    client.destroy()
  }
}

/** A data node's password and TLS; `--port 0` leaves only the TLS port, on `port`. */
function securityArgs (port: number, { password, tls }: RedisSecurity, cluster: boolean): string[] {
  const auth = password === undefined ? [] : ['--requirepass', password, '--masterauth', password]
  if (tls === undefined) return auth
  return [
    ...auth, '--port', '0', '--tls-port', String(port),
    '--tls-cert-file', tls.cert, '--tls-key-file', tls.key, '--tls-ca-cert-file', tls.ca,
    '--tls-auth-clients', 'no', '--tls-replication', 'yes', ...(cluster ? ['--tls-cluster', 'yes'] : [])
  ]
}

/** The same for a sentinel's configuration file. */
function sentinelSecurityLines (port: number, name: string, { password, sentinelPassword, tls }: RedisSecurity): string[] {
  return [
    ...(password === undefined ? [] : [`sentinel auth-pass ${name} ${password}`]),
    // The sentinels log in to each other with it too.
    ...(sentinelPassword === undefined ? [] : [`requirepass ${sentinelPassword}`]),
    ...(tls === undefined
      ? []
      : ['port 0', `tls-port ${port}`, `tls-cert-file ${tls.cert}`, `tls-key-file ${tls.key}`, `tls-ca-cert-file ${tls.ca}`, 'tls-auth-clients no', 'tls-replication yes'])
  ]
}

function workspace (t: Test, name: string): { dir: string, processes: Spawned[] } {
  const dir = mkdtempSync(join(tmpdir(), `bridge-${name}-`))
  const processes: Spawned[] = []
  t.teardown(async () => {
    await Promise.all(processes.map((server) => server.kill()))
    rmSync(dir, { recursive: true, force: true })
  })
  return { dir, processes }
}

export interface SentinelSet {
  /** The master name the sentinels monitor. */
  name: string
  /** `host:port,…` of the three sentinels, as REDIS_SENTINELS takes them. */
  sentinels: string
  /** The primary as the sentinels name it now. */
  primary: () => Promise<RedisProcess>
  /** The replica as the sentinels name it now (the data node that is not the primary). */
  replica: () => Promise<PausableRedisProcess>
  /** Kills the current primary, then runs `killed`; resolves once the sentinels have promoted the replica. */
  killPrimary: (killed?: () => void) => Promise<RedisProcess>
  /** Asks the sentinels for a failover (the primary stays up, as a replica); resolves once done. */
  failover: () => Promise<RedisProcess>
}

/** A primary, its replica and three sentinels (quorum 2) that fail over after 1 s of silence. */
export async function startSentinelSet (t: Test, name = 'bridge-primary', security: RedisSecurity = {}): Promise<SentinelSet> {
  const { dir, processes } = workspace(t, 'sentinel')
  const dataCommand = (port: number, ...args: string[]) => commandAs({ password: security.password, tls: security.tls }, port, ...args)
  const sentinelCommand = (port: number, ...args: string[]) => commandAs({ password: security.sentinelPassword, tls: security.tls }, port, ...args)
  const dataPorts = [await freePort(), await freePort()] as const
  const [primaryPort, replicaPort] = dataPorts
  const data = new Map<number, Spawned>()
  data.set(primaryPort, await startServer(dir, primaryPort, [...dataNodeArgs(primaryPort), ...securityArgs(primaryPort, security, false)]))
  data.set(replicaPort, await startServer(dir, replicaPort, [...dataNodeArgs(replicaPort), ...securityArgs(replicaPort, security, false), '--replicaof', '127.0.0.1', String(primaryPort)]))
  processes.push(...data.values())
  await waitFor('the replica to sync', async () => String(await dataCommand(replicaPort, 'INFO', 'replication')).includes('master_link_status:up'))

  const sentinelPorts: number[] = []
  for (let i = 0; i < 3; i++) {
    const port = await freePort()
    const file = join(dir, `sentinel-${port}.conf`)
    writeFileSync(file, [
      `port ${port}`,
      'bind 127.0.0.1',
      `sentinel monitor ${name} 127.0.0.1 ${primaryPort} 2`,
      `sentinel down-after-milliseconds ${name} 1000`,
      `sentinel failover-timeout ${name} 5000`,
      `sentinel parallel-syncs ${name} 1`,
      ...sentinelSecurityLines(port, name, security),
      ''
    ].join('\n'))
    processes.push(await startServer(dir, port, [file, '--sentinel']))
    sentinelPorts.push(port)
  }

  async function primaryPortNow (): Promise<number> {
    for (const port of sentinelPorts) {
      try {
        const [, port2] = await sentinelCommand(port, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name) as [string, string]
        return Number(port2)
      } catch {
        // That sentinel may be down; ask the next.
      }
    }
    throw new Error('no sentinel answered')
  }

  async function primary (): Promise<RedisProcess> {
    const port = await primaryPortNow()
    const server = data.get(port)
    if (server === undefined) throw new Error(`the sentinels name an unknown primary (port ${port})`)
    return server
  }

  /** Every sentinel names `port`, and it says it is a primary. */
  async function promoted (from: number): Promise<RedisProcess> {
    let now = from
    await waitFor('the sentinels to promote the replica', async () => {
      now = await primaryPortNow()
      if (now === from) return false
      const role = await dataCommand(now, 'ROLE').catch(() => undefined) as unknown[] | undefined
      return role?.[0] === 'master'
    }, 30_000)
    return data.get(now) as RedisProcess
  }

  // The sentinels must know the replica and each other before they can fail over.
  await waitFor('the sentinels to see the replica and each other', async () => {
    for (const port of sentinelPorts) {
      const info = String(await sentinelCommand(port, 'INFO', 'sentinel'))
      if (!/slaves=1,sentinels=3/.test(info)) return false
    }
    return true
  }, 30_000)

  return {
    name,
    sentinels: sentinelPorts.map((port) => `127.0.0.1:${port}`).join(','),
    primary,
    async replica () {
      const port = await primaryPortNow()
      return [...data.values()].find((server) => server.port !== port) as PausableRedisProcess
    },
    async killPrimary (killed) {
      const old = await primary()
      await old.kill()
      killed?.()
      return await promoted(old.port)
    },
    async failover () {
      const old = await primary()
      await sentinelCommand(sentinelPorts[0] as number, 'SENTINEL', 'FAILOVER', name)
      return await promoted(old.port)
    }
  }
}

export interface RedisClusterSet {
  /** `host:port,…` of every node, as REDIS_CLUSTER_NODES takes them. */
  nodes: string
  /** The primary serving `key`'s slot now. */
  primaryOf: (key: string) => Promise<PausableRedisProcess>
  /** The current primaries. */
  primaries: () => Promise<PausableRedisProcess[]>
  /** The replica of `primary` (asks every node: call it while none is paused). */
  replicaOf: (primary: RedisProcess) => Promise<PausableRedisProcess>
  /** Kills `primary`, then runs `killed`; resolves once its replica has taken over and the cluster is ok again. */
  killPrimary: (primary: RedisProcess, killed?: () => void) => Promise<void>
}

/** Three primaries and three replicas (`redis-cli --cluster create … --cluster-replicas 1`). */
export async function startRedisCluster (t: Test, security: RedisSecurity = {}): Promise<RedisClusterSet> {
  const { dir, processes } = workspace(t, 'cluster')
  const nodeCommand = (port: number, ...args: string[]) => commandAs({ password: security.password, tls: security.tls }, port, ...args)
  const servers: Spawned[] = []
  for (let i = 0; i < 6; i++) {
    const port = await freePort()
    let busPort = await freePort()
    // Neither is bound until the server starts: the second pick may give the first port again.
    while (busPort === port) busPort = await freePort()
    const server = await startServer(dir, port, [
      ...dataNodeArgs(port),
      '--cluster-enabled', 'yes',
      '--cluster-port', String(busPort),
      '--cluster-config-file', `nodes-${port}.conf`,
      '--cluster-node-timeout', '1000',
      // A replica takes over however long its link was down (the tests kill primaries at will).
      '--cluster-replica-validity-factor', '0',
      ...securityArgs(port, security, true)
    ])
    servers.push(server)
    processes.push(server)
  }
  const cliSecurity = [
    ...(security.password === undefined ? [] : ['-a', security.password, '--no-auth-warning']),
    ...(security.tls === undefined ? [] : ['--tls', '--cacert', security.tls.ca])
  ]
  await run('redis-cli', [...cliSecurity, '--cluster', 'create', ...servers.map((server) => server.address), '--cluster-replicas', '1', '--cluster-yes'])

  async function clusterOk (): Promise<boolean> {
    for (const server of servers) {
      if (!server.alive()) continue
      const info = String(await nodeCommand(server.port, 'CLUSTER', 'INFO').catch(() => ''))
      if (!info.includes('cluster_state:ok')) return false
    }
    return true
  }
  await waitFor('the cluster to be ok', clusterOk, 30_000)
  await waitFor('every replica to sync', async () => {
    for (const server of servers) {
      const info = String(await nodeCommand(server.port, 'INFO', 'replication'))
      if (info.includes('role:slave') && !info.includes('master_link_status:up')) return false
    }
    return true
  }, 30_000)

  async function primaries (): Promise<PausableRedisProcess[]> {
    const found: PausableRedisProcess[] = []
    for (const server of servers) {
      if (!server.alive()) continue
      const role = await nodeCommand(server.port, 'ROLE').catch(() => undefined) as unknown[] | undefined
      if (role?.[0] === 'master') found.push(server)
    }
    return found
  }

  return {
    nodes: servers.map((server) => server.address).join(','),
    primaries,
    async primaryOf (key: string) {
      const alive = servers.find((server) => server.alive()) as Spawned
      const slot = Number(await nodeCommand(alive.port, 'CLUSTER', 'KEYSLOT', key))
      const shards = await nodeCommand(alive.port, 'CLUSTER', 'SLOTS') as Array<[number, number, [string, number, ...unknown[]], ...unknown[]]>
      const owner = shards.find(([from, to]) => slot >= from && slot <= to)
      const port = Number(owner?.[2][1])
      return servers.find((server) => server.port === port) as PausableRedisProcess
    },
    async replicaOf (primary: RedisProcess) {
      for (const server of servers) {
        if (!server.alive()) continue
        const role = await nodeCommand(server.port, 'ROLE').catch(() => undefined) as unknown[] | undefined
        if (role?.[0] === 'slave' && Number(role[2]) === primary.port) return server
      }
      throw new Error(`no replica of the primary on port ${primary.port}`)
    },
    async killPrimary (primary: RedisProcess, killed) {
      await primary.kill()
      killed?.()
      await waitFor('a replica to take over', async () => {
        const alive = await primaries()
        return alive.length === 3 && await clusterOk()
      }, 30_000)
    }
  }
}

/** Environment for bridges on the Sentinel set, under a prefix of their own. */
export function sentinelEnv (set: SentinelSet): Record<string, string> & { BRIDGE_REDIS_PREFIX: string } {
  return { REDIS_SENTINELS: set.sentinels, REDIS_SENTINEL_NAME: set.name, BRIDGE_REDIS_PREFIX: `test:${randomUUID()}:` }
}

/** Environment for bridges on the Redis Cluster, under a prefix of their own. */
export function redisClusterEnv (cluster: RedisClusterSet): Record<string, string> & { BRIDGE_REDIS_PREFIX: string } {
  return { REDIS_CLUSTER_NODES: cluster.nodes, BRIDGE_REDIS_PREFIX: `test:${randomUUID()}:` }
}
