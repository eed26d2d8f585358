// The example's PusherWebhookController on Debian's Laravel 8.83 under `php -S`, receiving the
// bridge's real webhooks: users marked online and offline from member_added/member_removed,
// channels occupied and vacated, and a forged request refused with nothing dispatched.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { socketToken, startBridge, waitFor } from '../../helpers/bridge.ts'
import { startPhpServer } from '../../helpers/php-server.ts'
import { answerTo, connectEcho } from '../../helpers/echo.ts'
import { pusherApp } from '../../helpers/pusher.ts'
import { pusherEnv } from '../../helpers/pusher-js.ts'

t.setTimeout(120_000)

const server = fileURLToPath(new URL('../../fixtures/php/webhooks/server.php', import.meta.url))

function phpMissing (): string | false {
  const probe = spawnSync('php', ['-r', 'exit(is_file("/usr/share/php/Illuminate/Events/Dispatcher.php") ? 0 : 3);'])
  if (probe.error !== undefined) return 'php is not installed (apt-get install php-cli php-laravel-framework)'
  if (probe.status !== 0) return 'php-laravel-framework is missing (apt-get install php-laravel-framework)'
  return false
}

const skip = phpMissing()
if (skip !== false) t.comment(`skipping the Laravel webhook tests: ${skip}`)

interface Dispatched { event: string, channel: string, userId?: string, atMs: number }

async function laravelApp (t: Test, secret = pusherApp.secret) {
  const log = join(mkdtempSync(join(tmpdir(), 'laravel-webhooks-')), 'events.jsonl')
  writeFileSync(log, '')
  const port = await startPhpServer(t, server, { WEBHOOK_EVENTS_LOG: log, PUSHER_APP_KEY: pusherApp.key, PUSHER_APP_SECRET: secret })
  return {
    url: `http://127.0.0.1:${port}/pusher/webhooks`,
    dispatched: () => readFileSync(log, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Dispatched)
  }
}

t.test('Laravel learns who is online from the bridge\'s webhooks', { skip }, async (t) => {
  const laravel = await laravelApp(t)
  const { url } = await startBridge(t, pusherEnv({ BRIDGE_WEBHOOK_URL: laravel.url, BRIDGE_WEBHOOK_BATCH_MS: '20' }))
  const ann = await connectEcho(t, url, { bearerToken: socketToken({ sub: '1', rooms: ['presence-room.*'] }) })
  ann.join('room.1')
  t.equal(await answerTo(ann, 'presence-room.1'), 'ok')
  await waitFor(() => laravel.dispatched().some(({ event }) => event === 'UserCameOnline'), 'UserCameOnline dispatched')
  t.match(laravel.dispatched(), [
    { event: 'ChannelOccupied', channel: 'presence-room.1' },
    { event: 'UserCameOnline', channel: 'presence-room.1', userId: '1' }
  ])
  ann.leave('room.1')
  await waitFor(() => laravel.dispatched().some(({ event }) => event === 'ChannelVacated'), 'ChannelVacated dispatched')
  t.match(laravel.dispatched().slice(2), [
    { event: 'UserWentOffline', channel: 'presence-room.1', userId: '1' },
    { event: 'ChannelVacated', channel: 'presence-room.1' }
  ])
  t.ok(laravel.dispatched().every(({ atMs }) => Math.abs(Date.now() - atMs) < 60_000), 'the change\'s time in ms')

  const forged = JSON.stringify({ time_ms: Date.now(), events: [{ name: 'member_added', channel: 'presence-room.1', user_id: '666' }] })
  const refused = await fetch(laravel.url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Pusher-Key': pusherApp.key, 'X-Pusher-Signature': '0'.repeat(64) },
    body: forged
  })
  t.equal(refused.status, 401, 'a wrong signature is refused')
  t.notOk(laravel.dispatched().some(({ userId }) => userId === '666'), 'and dispatches nothing')
})
