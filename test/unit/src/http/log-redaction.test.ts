// Logs never show credentials, even when a log call is handed the object that holds them.
import { Writable } from 'node:stream'
import Fastify from 'fastify'
import t from 'tap'
import { loadConfig } from '../../../../src/config/index.ts'
import { serverOptions } from '../../../../src/http/server-options.ts'

t.test('authorization, tokens and signatures are redacted', async (t) => {
  const lines: string[] = []
  const stream = new Writable({ write (chunk: Buffer, _encoding, done) { lines.push(chunk.toString()); done() } })
  const options = serverOptions(loadConfig({ LOG_LEVEL: 'info' }))
  const fastify = Fastify({ ...options, logger: { ...(options.logger as object), stream } })
  t.teardown(() => fastify.close())

  fastify.log.info({ req: { headers: { authorization: 'Bearer s3cret-1', 'x-bridge-signature': 'sha256=s3cret-2' } } }, 'a request')
  fastify.log.info({ headers: { authorization: 'Bearer s3cret-3', 'x-bridge-signature': 'sha256=s3cret-4' } }, 'headers')
  fastify.log.info({ auth: { token: 's3cret-5' }, token: 's3cret-6', signature: 's3cret-7' }, 'a handshake')
  fastify.log.info({ subscribe: { room: 'chat_1', token: 's3cret-8' } }, 'a payload')

  const log = lines.join('')
  t.equal(lines.length, 4)
  t.notMatch(log, /s3cret/, 'no credential in the log')
  t.match(log, /\[redacted\]/)
  t.match(log, /chat_1/, 'the rest is kept')
})
