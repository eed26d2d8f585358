// laravel-echo-server (the Node server Laravel Echo's socket.io connector was written for),
// run as a benchmark yardstick for its HTTP API: `POST /apps/bench/events` with the bearer
// key, over socket.io 2 and Express. Presence would use Redis (database 13); nothing here
// subscribes to Redis broadcasts. `/health` is added for the benchmark's start-up check.
import { createRequire } from 'node:module'

interface EchoServerInstance {
  run (options: Record<string, unknown>): Promise<EchoServerInstance>
  server: { express: { get (path: string, handler: (request: unknown, response: { json (body: unknown): void }) => void): void } }
}

const require = createRequire(import.meta.url)
const { EchoServer } = require('laravel-echo-server/dist/echo-server.js') as { EchoServer: new () => EchoServerInstance }

const echo = await new EchoServer().run({
  host: process.env.HOST ?? '127.0.0.1',
  port: Number(process.env.PORT),
  clients: [{ appId: 'bench', key: process.env.ECHO_KEY ?? '' }],
  database: 'redis',
  databaseConfig: { redis: { host: '127.0.0.1', port: 6379, db: 13 } },
  subscribers: { http: true, redis: false },
  devMode: false
})
echo.server.express.get('/health', (_request, response) => response.json({ status: 'ok' }))
