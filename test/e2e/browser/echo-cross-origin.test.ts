// Laravel Echo in headless Chromium on another origin of the same site: the page on
// app.example.test, the bridge on bridge.example.test (Chromium maps both to 127.0.0.1), the
// session cookie set for .example.test. With `withCredentials: true` and Echo's default
// transports (long-polling first) the cookie reaches the bridge, so Laravel authorizes the user.
import { existsSync, readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { chromium, type Browser } from 'playwright-core'
import t from 'tap'
import { securedEnv, startBridge } from '../../helpers/bridge.ts'
import { fakeLaravel } from '../../helpers/fake-laravel.ts'

const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const noChromium = existsSync(chromiumPath) ? false : `no Chromium at ${chromiumPath} (apt-get install chromium, or set CHROMIUM_PATH)`
const require = createRequire(import.meta.url)
const files: Record<string, string> = {
  '/echo.iife.js': readFileSync(require.resolve('laravel-echo/iife'), 'utf8'),
  '/socket.io.min.js': readFileSync(join(require.resolve('socket.io-client').replace(/build[/\\].*$/, ''), 'dist', 'socket.io.min.js'), 'utf8')
}

t.setTimeout(240_000)

/** A Laravel page whose Echo uses the default transports; `withCredentials` as the test says. */
function page (bridge: string, withCredentials: boolean): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><meta name="csrf-token" content="csrf-of-ann"><title>app</title></head>
<body>
<script src="/socket.io.min.js"></script>
<script src="/echo.iife.js"></script>
<script>
  window.seen = []
  const note = (...entry) => window.seen.push(entry)
  const echo = new Echo.default({ broadcaster: 'socket.io', client: io, host: ${JSON.stringify(bridge)}, withCredentials: ${String(withCredentials)}, auth: { headers: {} } })
  // The transport of the Engine.IO handshake (later upgraded to websocket): polling, Echo's default.
  echo.connector.socket.io.on('open', () => note('opened', echo.connector.socket.io.engine.transport.name))
  echo.connector.socket.on('subscription_error', (channel, status) => note('error', channel, status))
  echo.connector.socket.on('subscription_succeeded', (channel) => note('subscribed', channel))
  echo.join('room.1').here((users) => note('here', users.map((user) => user.name)))
  echo.private('chat.1')
</script>
</body></html>`
}

t.test('Echo on app.example.test, the bridge on bridge.example.test: the session cookie authorizes private and presence channels', { skip: noChromium }, async (t) => {
  const laravel = await fakeLaravel(t)
  laravel.answer = ({ form, headers }) => {
    if (!/(^|; )laravel_session=session-of-ann(;|$)/.test(String(headers.cookie))) return { status: 403, body: '' }
    return form.channel_name?.startsWith('presence-') === true
      ? { status: 200, body: JSON.stringify({ channel_data: { user_id: 1, user_info: { name: 'Ann' } } }) }
      : { status: 200, body: 'true' }
  }

  const app = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://app')
    const file = files[url.pathname]
    if (file !== undefined) return response.writeHead(200, { 'content-type': 'text/javascript' }).end(file)
    // SESSION_DOMAIN=.example.test: Laravel's session cookie covers the bridge's host too.
    response.writeHead(200, { 'content-type': 'text/html', 'set-cookie': 'laravel_session=session-of-ann; Domain=.example.test; Path=/; HttpOnly; SameSite=Lax' })
    response.end(page(url.searchParams.get('bridge') ?? '', url.searchParams.get('credentials') === 'yes'))
  })
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { app.closeAllConnections(); app.close() })
  const appOrigin = `http://app.example.test:${(app.address() as AddressInfo).port}`
  const bridge = await startBridge(t, securedEnv({ BRIDGE_AUTH_ENDPOINT: laravel.url, CORS_ORIGINS: appOrigin, BRIDGE_API_SIGNING_SECRET: '' }))
  const bridgeUrl = bridge.url.replace('127.0.0.1', 'bridge.example.test')

  const browser: Browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--host-resolver-rules=MAP *.example.test 127.0.0.1']
  })
  t.teardown(() => browser.close())
  async function open (credentials: boolean) {
    const context = await browser.newContext()
    const tab = await context.newPage()
    tab.setDefaultTimeout(30_000)
    const problems: string[] = []
    tab.on('pageerror', (error) => { problems.push(error.message) })
    await tab.goto(`${appOrigin}/?credentials=${credentials ? 'yes' : 'no'}&bridge=${encodeURIComponent(bridgeUrl)}`)
    const until = (...entry: unknown[]) => tab.waitForFunction((wanted) =>
      (globalThis as unknown as { seen: unknown[][] }).seen.some((item) => JSON.stringify(item) === JSON.stringify(wanted)), entry).catch(async (error: unknown) => {
      // What the page saw instead, for the failure's message.
      const seen = await tab.evaluate(() => (globalThis as unknown as { seen: unknown[][] }).seen)
      throw new Error(`${String(error)}; the page saw ${JSON.stringify(seen)}`)
    })
    return { tab, until, problems }
  }

  const withCookie = await open(true)
  await withCookie.until('opened', 'polling')
  await withCookie.until('here', ['Ann'])
  await withCookie.until('subscribed', 'private-chat.1')
  t.same(withCookie.problems, [], 'no error on the page')
  t.ok(laravel.requests.length >= 2 && laravel.requests.every(({ headers }) => String(headers.cookie).includes('laravel_session=session-of-ann')),
    'every call to Laravel carried the session cookie')
  await withCookie.tab.context().close()

  // The control: without withCredentials the browser keeps the cookie, and Laravel refuses.
  const withoutCookie = await open(false)
  await withoutCookie.until('error', 'private-chat.1', 403)
  await withoutCookie.until('error', 'presence-room.1', 403)
  t.ok(laravel.requests.some(({ headers }) => headers.cookie === undefined), 'no cookie reached Laravel without withCredentials')
})
