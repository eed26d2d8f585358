// The Laravel authorizer on its own, against a local HTTP server: a call given up because its
// socket went is closed at once and is not taken for Laravel failing.
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { createLaravelAuthorizer } from '../../../../../../src/protocols/echo/authorization/laravel-authorizer.ts'

t.test('a cancelled call is closed at once, answered 499, and logs no failure; X-Forwarded-For is sent', async (t) => {
  let arrived: (request: IncomingMessage) => void = () => {}
  const request = new Promise<IncomingMessage>((resolve) => { arrived = resolve })
  // Never answers: only the bridge can end the call.
  const server = createServer((incoming) => arrived(incoming))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.closeAllConnections(); server.close() })
  const warnings: unknown[] = []
  const log = { warn: (...args: unknown[]) => { warnings.push(args) }, info: () => {}, debug: () => {} }
  const laravel = createLaravelAuthorizer({
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}/broadcasting/auth`,
    timeoutMs: 60_000,
    log: log as never
  })
  const cancel = new AbortController()
  const decision = laravel.authorize({ channel: 'private-a', kind: 'private', socketId: '1.2', headers: {}, forwardedFor: '203.0.113.7, 10.0.0.2' }, cancel.signal)
  const incoming = await request
  t.equal(incoming.headers['x-forwarded-for'], '203.0.113.7, 10.0.0.2')
  const closed = new Promise<void>((resolve) => incoming.socket.once('close', () => resolve()))
  cancel.abort()
  t.match(await decision, { allowed: false, status: 499 })
  await closed
  t.pass('the connection to Laravel is closed')
  t.same(warnings, [], 'no "endpoint failing" warning')
})
