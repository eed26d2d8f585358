// Redis deployments the benchmark starts for itself on free ports (Debian's redis-server): one
// Redis, a Redis Cluster (three primaries with a replica each) and a Sentinel set, through the
// tests' topology helper, stopped when the run ends however it ends. Also counts the commands
// the primaries served (INFO commandstats), which the shared Redis could not tell apart.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import { command, startRedisCluster, startSentinelSet, type RedisClusterSet, type RedisProcess, type SentinelSet } from '../test/helpers/redis-topologies.ts'
import { freePort } from './servers.ts'

/** Cleanups of everything started; each kills its processes synchronously before it awaits. */
const cleanups: Array<() => unknown> = []
process.once('exit', () => { for (const cleanup of cleanups.splice(0)) cleanup() })

/** The helper only asks its test for `teardown`. */
const owner = { teardown: (cleanup: () => unknown) => { cleanups.push(cleanup) } } as unknown as Test

export async function stopRedisDeployments (): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
}

export interface SingleRedis {
  url: string
  process: RedisProcess
}

export async function startSingleRedis (): Promise<SingleRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'bridge-bench-redis-'))
  const port = await freePort()
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { cwd: dir, stdio: 'ignore' })
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit')
      child.kill('SIGKILL')
      await exited
    }
    rmSync(dir, { recursive: true, force: true })
  }
  cleanups.push(kill)
  const address = `127.0.0.1:${port}`
  for (let attempt = 0; ; attempt++) {
    try {
      await command(port, 'PING')
      break
    } catch (error) {
      if (attempt > 100) throw error
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
  return { url: `redis://${address}`, process: { port, address, kill, alive: () => child.exitCode === null && child.signalCode === null } }
}

export function startCluster (): Promise<RedisClusterSet> {
  return startRedisCluster(owner)
}

export function startSentinels (): Promise<SentinelSet> {
  return startSentinelSet(owner, 'bench-primary')
}

/** Starts the primaries' command counts from zero. */
export async function resetCommandStats (primaries: RedisProcess[]): Promise<void> {
  await Promise.all(primaries.map((primary) => command(primary.port, 'CONFIG', 'RESETSTAT')))
}

/** Commands the primaries served since their reset, by command, this benchmark's INFO left out. */
export async function commandStats (primaries: RedisProcess[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>()
  for (const primary of primaries) {
    const info = String(await command(primary.port, 'INFO', 'commandstats'))
    for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
      const [, name, calls] = match as unknown as [string, string, string]
      // Replicas acknowledge every second; that is replication, not the bridge.
      if (name === 'info' || name === 'config|resetstat' || name === 'replconf') continue
      counts.set(name, (counts.get(name) ?? 0) + Number(calls))
    }
  }
  return counts
}

export const total = (counts: Map<string, number>) => [...counts.values()].reduce((sum, n) => sum + n, 0)
