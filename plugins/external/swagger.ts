// The OpenAPI document (built from the route schemas) and Swagger UI at /docs.
import fastifySwagger from '@fastify/swagger'
import fastifySwaggerUi from '@fastify/swagger-ui'
import fp from 'fastify-plugin'
import { packageJson } from '../../src/ops/package-info.ts'
import { eventKinds } from '../../src/schemas/events.ts'

const description = [
  'Laravel (or any backend) publishes events over this HTTP API; the bridge emits each one as a ' +
  'socket.io event into one room, to every browser or app subscribed to it.',
  'Frontends connect with socket.io v4, join rooms with `socket.emit(\'subscribe\', { room }, ack)` ' +
  'and listen with `socket.on(\'<event>\', handler)`. Each publish route names the socket.io event it ' +
  'emits; the payload frontends receive is in the route\'s `x-socketio-event` and under *Schemas* (`…Event`).',
  'Every `/api` route needs `Authorization: Bearer <token>` (press **Authorize**); sockets connect with a ' +
  'JWT in `auth.token`. docs/security.md in the repository has the details.',
  'The socket.io side (connecting, subscribing, every event and its payload) is described by the AsyncAPI 3.0 ' +
  'document [/docs/asyncapi.yaml](/docs/asyncapi.yaml).'
].join('\n\n')

const bearerAuth = {
  type: 'http' as const,
  scheme: 'bearer',
  description: 'One of the tokens in the bridge\'s `BRIDGE_API_TOKEN`: `Authorization: Bearer <token>`. ' +
    'When the bridge has `BRIDGE_API_SIGNING_SECRET`, requests also carry `X-Bridge-Timestamp: <unix seconds>` and ' +
    '`X-Bridge-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "\\n" + METHOD + "\\n" + path with query + "\\n" + raw body)>` ' +
    '(see docs/security.md); each signed publish is accepted once (a replay is answered as a duplicate).'
}

const pusherSignature = {
  type: 'apiKey' as const,
  in: 'query',
  name: 'auth_signature',
  description: 'Pusher\'s request signature, made by Pusher\'s server SDKs (Laravel\'s `pusher` broadcaster): the query carries ' +
    '`auth_key`, `auth_timestamp`, `auth_version=1.0`, `body_md5` (hex MD5 of the body, with one) and `auth_signature` = hex ' +
    'HMAC-SHA256(`BRIDGE_PUSHER_SECRET`, `METHOD\\npath\\nquery`), query being the other parameters, keys sorted, `k=v` joined by `&`.'
}

// Swagger UI's own policy (as its `staticCSP: true`), without `upgrade-insecure-requests`,
// which would break the page on a bridge served over plain HTTP on an internal network, and
// with inline styles, which Swagger UI sets (scripts stay limited to its own files).
const swaggerUiCsp = "default-src 'self'; base-uri 'self'; font-src 'self' https: data:; frame-ancestors 'self'; " +
  "img-src 'self' data: validator.swagger.io; object-src 'none'; script-src 'self'; script-src-attr 'none'; " +
  "style-src 'self' 'unsafe-inline' https:"

export default fp(async function swagger (fastify) {
  await fastify.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Laravel realtime bridge',
        description,
        version: packageJson.version
      },
      tags: [
        { name: 'publish', description: 'Publish events to socket.io rooms' },
        { name: 'rooms', description: 'Who is in a room, across the cluster' },
        {
          name: 'pusher',
          description: 'The Pusher HTTP API, for Laravel\'s `pusher` broadcaster and any Pusher server SDK: present when the bridge ' +
            'has `BRIDGE_PUSHER_APP_ID`, `BRIDGE_PUSHER_KEY` and `BRIDGE_PUSHER_SECRET` (Laravel\'s `PUSHER_APP_ID`, `PUSHER_APP_KEY`, ' +
            '`PUSHER_APP_SECRET`). Requests are signed in the query as Pusher signs them, which Swagger UI cannot do: try them ' +
            'with a Pusher SDK or `php artisan tinker`. Errors are Pusher\'s `{ "error": "..." }`.'
        },
        { name: 'ops', description: 'Health and operations' }
      ],
      components: {
        schemas: Object.fromEntries(eventKinds.map((kind) => [kind.payloadName, kind.payload])),
        securitySchemes: { bearerAuth, pusherSignature }
      }
    },
    // Every route under /api needs the token (routes/api/autohooks.ts), every route under /apps
    // Pusher's signature (routes/apps/autohooks.ts); ops endpoints need nothing.
    transform: ({ schema, url }) => ({
      schema: url.startsWith('/api/')
        ? { ...schema, security: [{ bearerAuth: [] }] }
        : url.startsWith('/apps/') ? { ...schema, security: [{ pusherSignature: [] }] } : schema,
      url
    }),
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => String(json.title ?? `def-${i}`)
    }
  })
  await fastify.register(fastifySwaggerUi, {
    routePrefix: '/docs',
    staticCSP: swaggerUiCsp,
    // The token typed into "Authorize" survives a reload of the page.
    uiConfig: { persistAuthorization: true }
  })
}, { name: 'swagger' })
