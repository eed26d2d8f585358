// `node --import tsx bench/laravel-redis-burst.ts`: a burst on Laravel's Redis (as a queue
// worker draining a backlog sends it) against the bridge's redis broadcaster. Laravel's Redis is
// a redis-server of this run's own with its default pub/sub output buffer limit; the bridges
// run as a cluster on the machine's Redis (`--redis-url`). Prints how many broadcasts the
// bridges took, how many Redis dropped with the subscription, and the largest output buffer
// Redis held for the bridge. Options: --messages, --bytes (of each message's data), --nodes.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { createClient } from 'redis'
import { killAll } from './ipc.ts'
import { freePort, startServer, type ServerProcess } from './servers.ts'

const { values: args } = parseArgs({
  options: {
    messages: { type: 'string', default: '200000' },
    bytes: { type: 'string', default: '200' },
    nodes: { type: 'string', default: '2' },
    'redis-url': { type: 'string', default: 'redis://127.0.0.1:6379/13' },
    'log-level': { type: 'string', default: 'info' }
  }
})
const messages = Number(args.messages)
const nodes = Number(args.nodes)
const workDir = mkdtempSync(join(tmpdir(), 'bridge-burst-'))
const laravelPrefix = 'burst_database_'
const busPrefix = `bench-burst-${Date.now().toString(36)}:`
const metricsToken = randomBytes(32).toString('hex')

function log (line: string): void {
  process.stderr.write(`[burst] ${line}\n`)
}

/** Laravel's Redis: a server of this run's own, with Redis's default limits. */
async function startAppRedis (): Promise<{ url: string, stop: () => void, output: () => string }> {
  const port = await freePort()
  const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  await new Promise<void>((resolve, reject) => {
    server.stdout.on('data', (chunk: Buffer) => {
      output += chunk
      if (output.includes('Ready to accept connections')) resolve()
    })
    server.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${output}`)))
  })
  return { url: `redis://127.0.0.1:${port}`, stop: () => server.kill('SIGKILL'), output: () => output }
}

/** A counter's total over its labels in the bridge's /metrics. */
async function metricTotal (bridge: ServerProcess, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${bridge.url}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } })).text()
  return text.split('\n').filter((line) => line.startsWith(`${name}{`) && line.includes(labels))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0)
}

const appRedis = await startAppRedis()
const bridges: ServerProcess[] = []
try {
  for (let i = 0; i < nodes; i++) {
    bridges.push(await startServer({
      name: `bridge-${i}`,
      kind: 'bridge',
      env: {
        NODE_ENV: 'production',
        LOG_LEVEL: args['log-level'] as string,
        BRIDGE_API_TOKEN: randomBytes(32).toString('hex'),
        BRIDGE_JWT_SECRET: randomBytes(32).toString('hex'),
        BRIDGE_METRICS_TOKEN: metricsToken,
        BRIDGE_MAX_EVENT_LOOP_DELAY: '0',
        REDIS_URL: args['redis-url'] as string,
        BRIDGE_REDIS_PREFIX: busPrefix,
        BRIDGE_LARAVEL_REDIS_URL: appRedis.url,
        BRIDGE_LARAVEL_REDIS_PREFIX: laravelPrefix
      },
      logFile: join(workDir, `bridge-${i}.log`),
      cwd: workDir
    }))
  }
  const publisher = createClient({ url: appRedis.url })
  const monitor = createClient({ url: appRedis.url })
  await Promise.all([publisher.connect(), monitor.connect()])

  // The largest output buffer Redis holds for a bridge's subscription, sampled every 50 ms.
  let largestBuffer = 0
  const sampling = { on: true }
  const sampler = (async () => {
    while (sampling.on) {
      const list = await monitor.clientList().catch(() => [])
      for (const client of list) if (client.name.startsWith('bridge:laravel-broadcasts')) largestBuffer = Math.max(largestBuffer, client.omem)
      await sleep(50)
    }
  })()

  const filler = 'x'.repeat(Number(args.bytes))
  const started = Date.now()
  // Published as fast as Redis takes them: a thousand in flight at a time.
  for (let sent = 0; sent < messages; sent += 1000) {
    const batch = []
    for (let i = sent; i < Math.min(sent + 1000, messages); i++) {
      batch.push(publisher.publish(`${laravelPrefix}orders.${i % 100}`, JSON.stringify({ event: 'OrderShipped', data: { order: i, filler }, socket: null })))
    }
    await Promise.all(batch)
  }
  const publishedMs = Date.now() - started
  log(`${messages} broadcasts published in ${publishedMs} ms`)

  // Until every broadcast is accounted for, or nothing has moved for 5 s.
  let taken = 0
  let still = Date.now()
  while (taken < messages && Date.now() - still < 5000) {
    await sleep(250)
    const now = (await Promise.all(bridges.map((bridge) => metricTotal(bridge, 'bridge_laravel_redis_messages_total', 'outcome="published"')))).reduce((a, b) => a + b, 0)
    if (now !== taken) still = Date.now()
    taken = now
  }
  const drainedMs = Date.now() - started - (taken < messages ? 5000 : 0)
  sampling.on = false
  await sampler
  const lines = bridges.flatMap((_bridge, i) => readFileSync(join(workDir, `bridge-${i}.log`), 'utf8').split('\n'))
  const reconnects = lines.filter((line) => line.includes('Laravel\'s Redis')).filter((line) => line.includes('again') || line.includes('resubscribed')).length
  console.log(JSON.stringify({
    messages,
    nodes,
    published: taken,
    lost: messages - taken,
    publishMs: publishedMs,
    doneMs: drainedMs,
    resubscribes: reconnects,
    largestOutputBufferBytes: largestBuffer,
    // Redis logs each subscriber it drops for its output buffer.
    droppedByRedis: appRedis.output().split('\n').filter((line) => line.includes('output buffer limits')).length
  }))
  publisher.destroy()
  monitor.destroy()
} finally {
  await Promise.all(bridges.map((bridge) => bridge.stop()))
  appRedis.stop()
  const cleaner = createClient({ url: args['redis-url'] as string })
  await cleaner.connect()
  for await (const keys of cleaner.scanIterator({ MATCH: `${busPrefix}*`, COUNT: 1000 })) if (keys.length > 0) await cleaner.del(keys)
  cleaner.destroy()
  killAll()
}
