// The demo page in a real browser: headless Chromium connects with a JWT, subscribes, and shows
// what the backend publishes, edits and deletes. `BRIDGE_SCREENSHOT=1` also writes docs/demo.png.
// test/unit/routes/demo.test.ts checks how the page is served.
import { existsSync } from 'node:fs'
import { chromium, type Browser, type Page } from 'playwright-core'
import t, { type Test } from 'tap'
import { postJson, secrets, securedEnv, socketToken, startBridge } from '../../helpers/bridge.ts'

const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const noChromium = existsSync(chromiumPath) ? false : `no Chromium at ${chromiumPath} (apt-get install chromium, or set CHROMIUM_PATH)`
const screenshot = process.env.BRIDGE_SCREENSHOT === '1' ? new URL('../../../docs/demo.png', import.meta.url) : undefined

// Publishers need the bearer token; signing is covered by test/unit/plugins/app/publisher-auth.test.ts.
const env = securedEnv({ BRIDGE_API_SIGNING_SECRET: '' })
const auth = { authorization: `Bearer ${secrets.apiToken}` }

t.setTimeout(240_000)

async function publish (url: string, kind: string, body: Record<string, unknown>) {
  const answer = await postJson(url, `/api/sms/${kind}`, body, auth)
  if (answer.status !== 202) throw new Error(`${kind} answered ${answer.status}: ${JSON.stringify(answer.body)}`)
}

async function openBrowser (t: Test): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking']
  })
  t.teardown(() => browser.close())
  return browser
}

/** The demo page, with every console error and uncaught exception (CSP violations included) recorded. */
async function openDemo (browser: Browser, url: string): Promise<{ page: Page, problems: string[] }> {
  const page = await browser.newPage({ viewport: { width: 820, height: 640 } })
  page.setDefaultTimeout(30_000)
  const problems: string[] = []
  page.on('console', (message) => { if (message.type() === 'error') problems.push(message.text()) })
  page.on('pageerror', (error) => { problems.push(error.message) })
  await page.goto(`${url}/demo`)
  return { page, problems }
}

async function connect (page: Page, fields: { token: string, room: string, roomToken?: string }) {
  await page.fill('#token', fields.token)
  await page.fill('#room', fields.room)
  await page.fill('#room-token', fields.roomToken ?? '')
  await page.click('#connect')
}

const statusShows = (page: Page, text: string) => page.locator('#status', { hasText: text }).waitFor()
const item = (page: Page, id: number) => page.locator(`#messages li[data-id="${id}"]`)

t.test('in Chromium the page shows new, edited, replied, read and deleted messages as they are published', { skip: noChromium }, async (t) => {
  const { url } = await startBridge(t, env)
  const browser = await openBrowser(t)
  const { page, problems } = await openDemo(browser, url)

  await connect(page, { token: socketToken({ sub: 'user-1', rooms: ['chat_*'] }), room: 'chat_demo' })
  await statusShows(page, 'Connected, subscribed to chat_demo.')

  // Sent first, to another room: had it been delivered, it would be on the page before the next one.
  await publish(url, 'new-message', { room: 'chat_other', message: { id: 900, text: 'not for this room' } })
  await publish(url, 'new-message', {
    room: 'chat_demo',
    message: { id: 501, text: 'Привет, мир! <b>Это не HTML</b>', from: 'Анна' }
  })
  await item(page, 501).locator('.text', { hasText: 'Привет, мир!' }).waitFor()
  t.equal(await item(page, 501).locator('.text').textContent(), 'Привет, мир! <b>Это не HTML</b>', 'Cyrillic text, shown as text')
  t.equal(await page.locator('#messages b').count(), 0, 'message text is never parsed as HTML')
  t.equal(await item(page, 900).count(), 0, 'nothing from a room the page did not join')

  await publish(url, 'reply-message', { room: 'chat_demo', replyTo: 501, message: { id: 502, text: 'И тебе привет!', from: 'Борис' } })
  await item(page, 502).locator('.text', { hasText: 'И тебе привет!' }).waitFor()
  t.equal(await item(page, 502).locator('.reply').textContent(), '↪ reply to #501')

  await publish(url, 'status-update', { room: 'chat_demo', messageId: 501, status: 'read' })
  await item(page, 501).locator('.status', { hasText: 'read' }).waitFor()

  await publish(url, 'edit-message', { room: 'chat_demo', messageId: 501, message: { id: 501, text: 'Привет всем!' } })
  await item(page, 501).locator('.text', { hasText: 'Привет всем!' }).waitFor()
  t.equal(await item(page, 501).locator('.edited').textContent(), 'edited')
  t.equal(await page.locator('#messages li').count(), 2, 'an edit changes its message in place')

  t.equal(await item(page, 502).locator('.meta').textContent(), '#502 · Борис', 'the sender is shown')

  if (screenshot !== undefined) {
    await page.click('summary')
    await page.screenshot({ path: screenshot.pathname, fullPage: true })
  }

  await publish(url, 'delete-message', { room: 'chat_demo', messageId: 502 })
  await page.locator('#messages li.deleted[data-id="502"]').waitFor()
  t.equal(await item(page, 502).locator('.text').textContent(), 'message deleted')
  t.equal(await item(page, 501).locator('.text').textContent(), 'Привет всем!', 'the other message stays')

  t.same(problems, [], 'no console errors (the page runs under its content security policy)')
})

t.test('in Chromium the page reports a refused token and a refused room, and a per-room token opens it', { skip: noChromium }, async (t) => {
  const { url } = await startBridge(t, env)
  const browser = await openBrowser(t)
  const { page } = await openDemo(browser, url)

  await connect(page, { token: 'not-a-jwt', room: 'chat_demo' })
  await statusShows(page, 'Connection refused: unauthorized')

  const token = socketToken({ sub: 'user-1', rooms: ['chat_*'] })
  await connect(page, { token, room: 'private_7' })
  await statusShows(page, 'Subscription refused: FORBIDDEN')

  await connect(page, { token, room: 'private_7', roomToken: socketToken({ sub: 'user-1', room: 'private_7' }) })
  await statusShows(page, 'Connected, subscribed to private_7.')
  await publish(url, 'new-message', { room: 'private_7', message: { id: 1, text: 'только для тебя' } })
  await item(page, 1).locator('.text', { hasText: 'только для тебя' }).waitFor()
  t.pass('a message published into the room granted by the per-room token is shown')
})
