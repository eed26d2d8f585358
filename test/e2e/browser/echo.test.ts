// Laravel Echo in headless Chromium, from a page of its own origin: Echo's IIFE build with the
// socket.io client, the Laravel session cookie and CSRF meta tag a Laravel page has, the bridge
// asking a (recording) Laravel, presence, whispers and a published event on screen.
import { existsSync, readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { chromium, type Page } from 'playwright-core'
import t from 'tap'
import { postJson, secrets, securedEnv, startBridge } from '../../helpers/bridge.ts'
import { fakeLaravel } from '../../helpers/fake-laravel.ts'

const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const noChromium = existsSync(chromiumPath) ? false : `no Chromium at ${chromiumPath} (apt-get install chromium, or set CHROMIUM_PATH)`
const require = createRequire(import.meta.url)
const files: Record<string, string> = {
  '/echo.iife.js': readFileSync(require.resolve('laravel-echo/iife'), 'utf8'),
  // The package exports no dist path: its browser bundle sits beside the build it does export.
  '/socket.io.min.js': readFileSync(join(require.resolve('socket.io-client').replace(/build[/\\].*$/, ''), 'dist', 'socket.io.min.js'), 'utf8')
}

t.setTimeout(240_000)

/** A Laravel page: the session cookie Laravel set at login, the CSRF meta tag, and Echo. */
function page (bridge: string, user: string): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><meta name="csrf-token" content="csrf-of-${user}"><title>${user}</title></head>
<body>
<script src="/socket.io.min.js"></script>
<script src="/echo.iife.js"></script>
<script>
  window.seen = []
  const note = (...entry) => window.seen.push(entry)
  const echo = new Echo.default({ broadcaster: 'socket.io', client: io, host: ${JSON.stringify(bridge)}, transports: ['websocket'], auth: { headers: {} } })
  echo.connector.socket.on('subscription_error', (channel, status) => note('error', channel, status))
  echo.join('room.1')
    .here((users) => note('here', users.map((user) => user.name).sort()))
    .joining((user) => note('joining', user.name))
    .leaving((user) => note('leaving', user.name))
    .listenForWhisper('typing', (data) => note('whisper', data))
  echo.private('chat.1').listen('.new_message', (event) => note('new_message', event.message.text))
  echo.private('chat.2')
  window.whisper = () => echo.join('room.1').whisper('typing', { from: ${JSON.stringify(user)} })
</script>
</body></html>`
}

t.test('Echo in Chromium: cookie and CSRF token to Laravel, presence, whispers, events', { skip: noChromium }, async (t) => {
  const laravel = await fakeLaravel(t)
  const users: Record<string, { user_id: number, user_info: { name: string } }> = {
    'session-of-ann': { user_id: 1, user_info: { name: 'Ann' } },
    'session-of-bob': { user_id: 2, user_info: { name: 'Bob' } }
  }
  laravel.answer = ({ form, headers }) => {
    const session = /laravel_session=([^;]+)/.exec(String(headers.cookie))?.[1] ?? ''
    const user = users[session]
    if (user === undefined || headers['x-csrf-token'] !== session.replace('session', 'csrf')) return { status: 403, body: '' }
    if (form.channel_name === 'private-chat.2') return { status: 403, body: '' }
    return form.channel_name?.startsWith('presence-') === true ? { status: 200, body: JSON.stringify({ channel_data: user }) } : { status: 200, body: 'true' }
  }

  // The app's pages, on an origin of their own; the bridge allows exactly that origin.
  const app = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://app')
    const file = files[url.pathname]
    if (file !== undefined) return response.writeHead(200, { 'content-type': 'text/javascript' }).end(file)
    const user = url.searchParams.get('user') ?? ''
    // Laravel sets its session cookie at login; the browser sends it to the bridge's host too.
    response.writeHead(200, { 'content-type': 'text/html', 'set-cookie': `laravel_session=session-of-${user}; Path=/; SameSite=Lax` })
    response.end(page(url.searchParams.get('bridge') ?? '', user))
  })
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { app.closeAllConnections(); app.close() })
  const appOrigin = `http://127.0.0.1:${(app.address() as AddressInfo).port}`
  const { url } = await startBridge(t, securedEnv({ BRIDGE_AUTH_ENDPOINT: laravel.url, CORS_ORIGINS: appOrigin, BRIDGE_API_SIGNING_SECRET: '' }))

  const browser = await chromium.launch({ executablePath: chromiumPath, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] })
  t.teardown(() => browser.close())
  const problems: string[] = []
  async function open (user: string): Promise<Page> {
    const context = await browser.newContext()
    const tab = await context.newPage()
    tab.setDefaultTimeout(30_000)
    tab.on('pageerror', (error) => { problems.push(error.message) })
    await tab.goto(`${appOrigin}/?user=${user}&bridge=${encodeURIComponent(url)}`)
    return tab
  }
  const seen = (tab: Page) => tab.evaluate(() => (globalThis as unknown as { seen: unknown[][] }).seen)
  const until = (tab: Page, ...entry: unknown[]) => tab.waitForFunction((wanted) =>
    (globalThis as unknown as { seen: unknown[][] }).seen.some((item) => JSON.stringify(item) === JSON.stringify(wanted)), entry)

  const ann = await open('ann')
  await until(ann, 'here', ['Ann'])
  await until(ann, 'error', 'private-chat.2', 403)
  const bob = await open('bob')
  await until(bob, 'here', ['Ann', 'Bob'])
  await until(ann, 'joining', 'Bob')

  await bob.evaluate(() => { (globalThis as unknown as { whisper: () => void }).whisper() })
  await until(ann, 'whisper', { from: 'bob' })

  const published = await postJson(url, '/api/sms/new-message', { room: 'chat.1', message: { text: 'Привет из Laravel' } },
    { authorization: `Bearer ${secrets.apiToken}` })
  t.equal(published.status, 202)
  await until(ann, 'new_message', 'Привет из Laravel')
  await until(bob, 'new_message', 'Привет из Laravel')

  t.notOk((await seen(bob)).some(([kind]) => kind === 'whisper'), 'Bob never got his own whisper')
  await bob.context().close()
  await until(ann, 'leaving', 'Bob')
  t.same(await seen(ann), [
    ['here', ['Ann']],
    ['error', 'private-chat.2', 403],
    ['joining', 'Bob'],
    ['whisper', { from: 'bob' }],
    ['new_message', 'Привет из Laravel'],
    ['leaving', 'Bob']
  ], 'Ann\'s page saw exactly this, in order')

  const asked = laravel.requests.filter(({ headers }) => String(headers.cookie).includes('session-of-ann'))
  t.ok(asked.length >= 3, 'the browser\'s cookie reached Laravel through the bridge')
  t.ok(asked.every(({ headers }) => headers['x-csrf-token'] === 'csrf-of-ann'), 'with the CSRF token Echo read from the page')
  t.ok(asked.every(({ headers }) => headers.origin === undefined && headers.referer === undefined), 'not the browser\'s other headers')
  t.same(problems, [], 'no error on the pages')
})
