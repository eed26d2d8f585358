// openapi.yaml in the repo is the document the app serves; `npm run openapi` regenerates it.
import { readFile } from 'node:fs/promises'
import t from 'tap'
import { parse } from 'yaml'
import { DOCUMENTED_PUSHER_APP, openapiYaml } from '../../scripts/documents.ts'
import { buildApp } from '../helpers/bridge.ts'

const committed = await readFile(new URL('../../openapi.yaml', import.meta.url), 'utf8')

t.test('openapi.yaml is what the app generates (run `npm run openapi` after changing a schema)', async (t) => {
  t.equal(committed, await openapiYaml())
})

t.test('GET /docs/json serves the same document as openapi.yaml', async (t) => {
  // A bridge with a Pusher app serves (and documents) the Pusher HTTP API too.
  const fastify = await buildApp(t, DOCUMENTED_PUSHER_APP)
  const response = await fastify.inject({ method: 'GET', url: '/docs/json' })
  t.equal(response.statusCode, 200)
  t.same(response.json(), parse(committed))
})

t.test('every publish route documents the socket.io event and payload it emits', async (t) => {
  const document = parse(committed) as {
    paths: Record<string, { post?: { description?: string, 'x-socketio-event'?: { name: string, payload: { $ref: string } } } }>
    components: { schemas: Record<string, unknown> }
  }
  const expected: Record<string, string> = {
    '/api/sms/new-message': 'new_message',
    '/api/sms/edit-message': 'edit_message',
    '/api/sms/reply-message': 'reply_message',
    '/api/sms/delete-message': 'delete_message',
    '/api/sms/status-update': 'status_update'
  }
  for (const [path, event] of Object.entries(expected)) {
    const operation = document.paths[path]?.post
    t.equal(operation?.['x-socketio-event']?.name, event, `${path} names ${event}`)
    t.match(operation?.description, `socket.on('${event}'`, `${path} shows the frontend handler`)
    const schemaName = operation?.['x-socketio-event']?.payload.$ref.split('/').at(-1) ?? ''
    t.ok(document.components.schemas[schemaName], `${path} payload schema ${schemaName} is in the document`)
  }
  t.ok(document.paths['/api/sms/batch']?.post, 'batch is documented')
})

t.test('the Pusher HTTP API is documented under its own tag, with Pusher\'s signature and error shape', async (t) => {
  const document = parse(committed) as {
    paths: Record<string, Record<string, { tags?: string[], security?: unknown[], responses?: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }> }>>
    tags: Array<{ name: string }>
  }
  t.ok(document.tags.some((tag) => tag.name === 'pusher'), 'the pusher tag is declared')
  const routes: Array<[string, string]> = [
    ['/apps/{app_id}/events', 'post'],
    ['/apps/{app_id}/batch_events', 'post'],
    ['/apps/{app_id}/channels', 'get'],
    ['/apps/{app_id}/channels/{channel}', 'get'],
    ['/apps/{app_id}/channels/{channel}/users', 'get']
  ]
  for (const [path, method] of routes) {
    const operation = document.paths[path]?.[method]
    t.same(operation?.tags, ['pusher'], `${method} ${path} is tagged pusher`)
    t.same(operation?.security, [{ pusherSignature: [] }], `${method} ${path} needs Pusher's signature`)
    t.match(JSON.stringify(operation?.responses?.['401']), /PusherError/, `${method} ${path} answers 401 in Pusher's shape`)
  }
})

interface Media { example?: unknown, examples?: unknown, schema?: { required?: string[], properties?: Record<string, unknown> } }
interface Operation { tags?: string[], requestBody?: { content?: Record<string, Media> }, responses?: Record<string, { content?: Record<string, Media> }> }

/** Every key of a JSON value, at any depth. */
function keysOf (value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(keysOf)
  if (value === null || typeof value !== 'object') return []
  return Object.entries(value).flatMap(([key, inner]) => [key, ...keysOf(inner)])
}

t.test('Swagger UI\'s examples: publish bodies carry no fixed uuid, each error status shows its own example', async (t) => {
  const document = parse(committed) as { paths: Record<string, Record<string, Operation>> }
  let bodies = 0
  let errors = 0
  for (const [path, methods] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      const route = `${method.toUpperCase()} ${path}`
      const body = operation.requestBody?.content?.['application/json']
      if (operation.tags?.includes('publish')) {
        t.ok(body?.example !== undefined, `${route} has an example body`)
        bodies += 1
      }
      if (body?.example !== undefined) {
        t.notOk(keysOf(body.example).includes('uuid'), `${route}: the example body has no uuid (Execute twice must publish twice)`)
      }
      const seen = new Map<string, string>()
      for (const [status, response] of Object.entries(operation.responses ?? {})) {
        if (Number(status) < 400) continue
        errors += 1
        const media = response.content?.['application/json']
        const example = media?.example as Record<string, unknown> | undefined
        t.ok(example !== undefined, `${route} ${status} has an example`)
        if (example === undefined) continue
        // Fastify's error shape names its status; Pusher's `{ error }` has only the required fields of its schema.
        if ('statusCode' in example) t.equal(example.statusCode, Number(status), `${route} ${status}: the example's statusCode is ${status}`)
        for (const field of media?.schema?.required ?? []) t.ok(field in example, `${route} ${status}: the example has ${field}`)
        const text = JSON.stringify(example)
        t.notOk(seen.has(text), `${route} ${status}: its example is not the one of ${seen.get(text) ?? ''}`)
        seen.set(text, status)
      }
    }
  }
  t.ok(bodies >= 6, `${bodies} publish bodies checked`)
  t.ok(errors >= 30, `${errors} error answers checked`)
})

t.test('GET /docs serves Swagger UI', async (t) => {
  const fastify = await buildApp(t)
  const response = await fastify.inject({ method: 'GET', url: '/docs/' })
  t.equal(response.statusCode, 200)
  t.match(response.headers['content-type'], /text\/html/)
})

t.test('the document carries the package\'s version', async (t) => {
  const manifest = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
  t.equal((parse(committed) as { info: { version: string } }).info.version, manifest.version)
})
