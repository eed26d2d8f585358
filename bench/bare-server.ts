// The benchmark's ceiling: a bare Fastify server with the bridge's own server options and
// the same publish route schema, which only validates the body and answers 202. No
// socket.io, no auth, no de-duplication: what is left is the cost of HTTP and validation.
import { randomUUID } from 'node:crypto'
import Fastify from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { loadConfig } from '../src/config/index.ts'
import { serverOptions } from '../src/http/server-options.ts'
import { PublishAnswer } from '../src/schemas/answers.ts'
import { newMessage } from '../src/schemas/events.ts'

const config = loadConfig(process.env)
const fastify = Fastify(serverOptions(config)).withTypeProvider<TypeBoxTypeProvider>()

fastify.get('/health', async () => ({ status: 'ok' }))

fastify.post('/api/sms/new-message', {
  schema: { body: newMessage.body, response: { 202: PublishAnswer } }
}, async (request, reply) => {
  const { room, uuid = randomUUID() } = request.body
  return reply.code(202).send({ ok: true, event: newMessage.event, room, uuid })
})

await fastify.listen({ port: config.port, host: config.host })
