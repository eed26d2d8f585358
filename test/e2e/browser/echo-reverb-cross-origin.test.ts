// Laravel Echo with `broadcaster: 'reverb'` (pusher-js's browser build) in headless Chromium, on
// a page of app.example.test while the bridge is bridge.example.test (Chromium maps both to
// 127.0.0.1). As in a Laravel 11+ app, pusher-js asks the app's own `/broadcasting/auth` for
// Pusher signatures (`key:hmac` with the app secret); the bridge only checks them.
import { existsSync, readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createRequire } from 'node:module'
import { chromium, type Browser } from 'playwright-core'
import t from 'tap'
import { startBridge } from '../../helpers/bridge.ts'
import { pusherClient as pusherSdk } from '../../helpers/pusher.ts'
import { app as pusherApp, pusherEnv } from '../../helpers/pusher-js.ts'
import { pusherChannelAuth } from '../../../src/protocols/echo/authorization/channel-auth-signature.ts'

const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const noChromium = existsSync(chromiumPath) ? false : `no Chromium at ${chromiumPath} (apt-get install chromium, or set CHROMIUM_PATH)`
const require = createRequire(import.meta.url)
const files: Record<string, string> = {
  '/echo.iife.js': readFileSync(require.resolve('laravel-echo/iife'), 'utf8'),
  // The package's exports map does not list it: found beside its main entry.
  '/pusher.min.js': readFileSync(require.resolve('pusher-js').replace(/dist[/\\].*$/, 'dist/web/pusher.min.js'), 'utf8')
}

t.setTimeout(240_000)

/** resources/js/echo.js as `install:broadcasting` writes it for Reverb, VITE_REVERB_* pointing at the bridge. */
function page (bridge: URL, key: string): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><meta name="csrf-token" content="csrf-of-ann"><title>app</title></head>
<body>
<script src="/pusher.min.js"></script>
<script src="/echo.iife.js"></script>
<script>
  window.seen = []
  const note = (...entry) => window.seen.push(entry)
  const echo = new Echo.default({
    broadcaster: 'reverb',
    key: ${JSON.stringify(key)},
    wsHost: ${JSON.stringify(bridge.hostname)},
    wsPort: ${bridge.port},
    wssPort: ${bridge.port},
    forceTLS: false,
    enabledTransports: ['ws', 'wss'],
  })
  echo.connector.pusher.connection.bind('state_change', ({ current }) => note('state', current))
  echo.connector.pusher.connection.bind('error', (error) => note('connection_error', error?.data?.code ?? error?.type))
  echo.private('orders.1')
    .subscribed(() => note('subscribed', 'private-orders.1'))
    .error((error) => note('error', 'private-orders.1', error.status))
    .listen('.OrderShipped', (event) => note('OrderShipped', event.id, event.note))
  echo.join('room.1').here((users) => note('here', users.map((user) => user.name)))
</script>
</body></html>`
}

t.test('Echo\'s reverb connector in Chromium on another origin: private channel signed by Laravel, an event from the HTTP API, presence', { skip: noChromium }, async (t) => {
  // The app: its pages, the scripts, and `/broadcasting/auth` as Laravel's pusher driver answers it.
  const authRequests: Array<{ form: Record<string, string>, csrf: unknown }> = []
  const appServer = createServer(async (request, response) => {
    const url = new URL(request.url ?? '/', 'http://app')
    if (url.pathname === '/broadcasting/auth' && request.method === 'POST') {
      let body = ''
      for await (const chunk of request) body += String(chunk)
      const form = Object.fromEntries(new URLSearchParams(body))
      authRequests.push({ form, csrf: request.headers['x-csrf-token'] })
      const socketId = form.socket_id ?? ''
      const channel = form.channel_name ?? ''
      const channelData = channel.startsWith('presence-') ? JSON.stringify({ user_id: 1, user_info: { name: 'Ann' } }) : undefined
      const answer = { auth: pusherChannelAuth(pusherApp, socketId, channel, channelData), ...(channelData !== undefined && { channel_data: channelData }) }
      return response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer))
    }
    const file = files[url.pathname]
    if (file !== undefined) return response.writeHead(200, { 'content-type': 'text/javascript' }).end(file)
    const bridge = url.searchParams.get('bridge')
    // Anything else (the browser's favicon.ico) is not found.
    if (bridge === null) return response.writeHead(404).end()
    response.writeHead(200, { 'content-type': 'text/html' })
    response.end(page(new URL(bridge), url.searchParams.get('key') ?? pusherApp.key))
  })
  await new Promise<void>((resolve) => appServer.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { appServer.closeAllConnections(); appServer.close() })
  const appOrigin = `http://app.example.test:${(appServer.address() as AddressInfo).port}`
  const { url } = await startBridge(t, pusherEnv({ CORS_ORIGINS: appOrigin }))
  const bridgeUrl = url.replace('127.0.0.1', 'bridge.example.test')

  const browser: Browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--host-resolver-rules=MAP *.example.test 127.0.0.1']
  })
  t.teardown(() => browser.close())
  async function open (key: string, origin = appOrigin) {
    const context = await browser.newContext()
    const tab = await context.newPage()
    tab.setDefaultTimeout(30_000)
    const problems: string[] = []
    tab.on('pageerror', (error) => { problems.push(error.message) })
    await tab.goto(`${origin}/?key=${encodeURIComponent(key)}&bridge=${encodeURIComponent(bridgeUrl)}`)
    const seen = () => tab.evaluate(() => (globalThis as unknown as { seen: unknown[][] }).seen)
    const until = (...entry: unknown[]) => tab.waitForFunction((wanted) =>
      (globalThis as unknown as { seen: unknown[][] }).seen.some((item) => JSON.stringify(item) === JSON.stringify(wanted)), entry).catch(async (error: unknown) => {
      // What the page saw instead, for the failure's message.
      throw new Error(`${String(error)}; the page saw ${JSON.stringify(await seen())}`)
    })
    return { tab, until, seen, problems }
  }

  const ann = await open(pusherApp.key)
  await ann.until('state', 'connected')
  await ann.until('subscribed', 'private-orders.1')
  await ann.until('here', ['Ann'])
  t.ok(authRequests.some(({ form }) => form.channel_name === 'private-orders.1' && /^\d+\.\d+$/.test(form.socket_id ?? '')),
    'pusher-js asked the app\'s /broadcasting/auth with the bridge\'s socket id')
  t.ok(authRequests.every(({ csrf }) => csrf === 'csrf-of-ann'), 'with the CSRF token Echo read from the page')

  // Laravel's reverb/pusher driver publishes through the Pusher HTTP API.
  await pusherSdk(url).trigger('private-orders.1', 'OrderShipped', { id: 7, note: 'Отправлено' })
  await ann.until('OrderShipped', 7, 'Отправлено')
  t.same(ann.problems, [], 'no error on the page')
  await ann.tab.context().close()

  // The control: a key the bridge does not know is refused, so nothing connects or subscribes.
  const asked = authRequests.length
  const stranger = await open('not-the-key')
  await stranger.tab.waitForFunction(() => (globalThis as unknown as { seen: unknown[][] }).seen
    .some(([kind, state]) => kind === 'state' && (state === 'disconnected' || state === 'failed' || state === 'unavailable')))
  t.equal(authRequests.length, asked, 'no signature asked for')
  t.notOk((await stranger.seen()).some(([kind]) => kind === 'subscribed'), 'nothing subscribed with an unknown key')
  t.notOk((await stranger.seen()).some(([kind, state]) => kind === 'state' && state === 'connected'), 'never connected with an unknown key')

  // And the same page served from an origin CORS_ORIGINS does not list: the upgrade is refused.
  const elsewhere = await open(pusherApp.key, appOrigin.replace('app.example.test', 'elsewhere.example.test'))
  await elsewhere.until('state', 'unavailable')
  t.notOk((await elsewhere.seen()).some(([kind, state]) => kind === 'state' && state === 'connected'), 'never connected from an origin not listed')
  t.equal(authRequests.length, asked, 'no signature asked for from there either')
})
