// The OpenAPI document (built from the route schemas) and Swagger UI at /docs.
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import fp from 'fastify-plugin'
import { eventKinds } from '../src/schemas/events.ts'

const description = [
  'Laravel (or any backend) publishes events over this HTTP API; the bridge emits each one as a ' +
  'socket.io event into one room, to every browser or app subscribed to it.',
  'Frontends connect with socket.io v4, join rooms with `socket.emit(\'subscribe\', { room }, ack)` ' +
  'and listen with `socket.on(\'<event>\', handler)`. Each publish route names the socket.io event it ' +
  'emits; the payload frontends receive is in the route\'s `x-socketio-event` and under *Schemas* (`…Event`).',
  'The socket.io side (connecting, subscribing, every event and its payload) is described by the AsyncAPI 3.0 ' +
  'document [/docs/asyncapi.yaml](/docs/asyncapi.yaml).'
].join('\n\n')

export default fp(async function docs (fastify) {
  await fastify.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Laravel realtime bridge',
        description,
        version: '1.0.0'
      },
      tags: [
        { name: 'publish', description: 'Publish events to socket.io rooms' },
        { name: 'ops', description: 'Health and operations' }
      ],
      components: {
        schemas: Object.fromEntries(eventKinds.map((kind) => [kind.payloadName, kind.payload]))
      }
    },
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => String(json.title ?? `def-${i}`)
    }
  })
  await fastify.register(swaggerUi, {
    routePrefix: '/docs'
  })
}, { name: 'docs' })
