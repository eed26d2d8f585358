// asyncapi.yaml in the repo is the document the app serves, a valid AsyncAPI 3.0 document built
// from the event schemas; `npm run asyncapi` regenerates it.
import { readFile } from 'node:fs/promises'
import { Ajv } from 'ajv'
import addFormats from 'ajv-formats'
import specs from '@asyncapi/specs'
import t from 'tap'
import { parse } from 'yaml'
import { asyncapiYaml } from '../../../../src/documents/asyncapi.ts'
import { eventKinds } from '../../../../src/schemas/events.ts'
import { buildApp } from '../../../helpers/bridge.ts'

const committed = await readFile(new URL('../../../../asyncapi.yaml', import.meta.url), 'utf8')

interface Document {
  asyncapi: string
  channels: Record<string, { messages: Record<string, { $ref: string }> }>
  operations: Record<string, {
    action: string
    channel: { $ref: string }
    messages: Array<{ $ref: string }>
    reply?: { messages: Array<{ $ref: string }> }
  }>
  components: {
    schemas: Record<string, unknown>
    messages: Record<string, { name: string, payload: { $ref: string }, examples?: Array<{ payload: unknown }> }>
  }
}

const document = parse(committed) as Document

/** What a local `#/a/b` reference points to, following references; undefined when nothing. */
function resolve (ref: string): unknown {
  let value: unknown = document
  for (const key of ref.replace(/^#\//, '').split('/')) {
    value = (value as Record<string, unknown> | undefined)?.[key]
  }
  const next = (value as { $ref?: unknown } | undefined)?.$ref
  return typeof next === 'string' ? resolve(next) : value
}

function references (value: unknown): string[] {
  if (typeof value !== 'object' || value === null) return []
  return Object.entries(value).flatMap(([key, inner]) => key === '$ref' && typeof inner === 'string' ? [inner] : references(inner))
}

t.test('asyncapi.yaml is what the schemas generate (run `npm run asyncapi` after changing a schema)', async (t) => {
  t.equal(committed, asyncapiYaml())
})

t.test('GET /docs/asyncapi.yaml serves the same document, as text a browser shows (not a download)', async (t) => {
  const fastify = await buildApp(t)
  const response = await fastify.inject({ method: 'GET', url: '/docs/asyncapi.yaml' })
  t.equal(response.statusCode, 200)
  t.match(response.headers['content-type'], /^text\/plain; charset=utf-8$/)
  t.equal(response.headers['content-disposition'], 'inline')
  t.equal(response.body, committed)
})

t.test('the Swagger UI description links to it', async (t) => {
  const fastify = await buildApp(t)
  const openapi = fastify.swagger() as { info: { description: string } }
  t.match(openapi.info.description, '(/docs/asyncapi.yaml)')
})

t.test('it is a valid AsyncAPI 3.0 document', async (t) => {
  t.equal(document.asyncapi, '3.0.0')
  const ajv = new Ajv({ strict: false, allErrors: true })
  addFormats.default(ajv)
  const validate = ajv.compile(specs.schemasWithoutId['3.0.0'])
  t.ok(validate(document), 'matches the official AsyncAPI 3.0.0 JSON Schema')
  t.same(validate.errors ?? [], [])
  t.notOk(validate({ ...document, operations: { subscribe: { action: 'emit' } } }), 'and that schema does refuse a broken document')

  const unresolved = references(document).filter((ref) => resolve(ref) === undefined)
  t.same(unresolved, [], 'every $ref resolves')
  for (const [id, operation] of Object.entries(document.operations)) {
    const channel = resolve(operation.channel.$ref) as Document['channels'][string]
    for (const { $ref } of [...operation.messages, ...operation.reply?.messages ?? []]) {
      t.ok(Object.values(channel.messages).some((message) => resolve(message.$ref) === resolve($ref)),
        `${id}: ${$ref} is a message of its channel`)
    }
  }
})

t.test('every event the bridge emits is documented with the payload schema frontends receive', async (t) => {
  for (const kind of eventKinds) {
    const operation = document.operations[kind.event]
    t.equal(operation?.action, 'send', `${kind.event} is sent by the bridge`)
    const message = resolve(operation?.messages[0]?.$ref ?? '') as Document['components']['messages'][string] | undefined
    t.equal(message?.name, kind.event, `${kind.event} message name is the socket.io event name`)
    t.same(resolve(message?.payload.$ref ?? ''), JSON.parse(JSON.stringify(kind.payload)), `${kind.event} payload is ${kind.payloadName}`)
    const validPayload = new Ajv({ strict: false }).compile(kind.payload)
    for (const example of message?.examples ?? []) {
      t.ok(validPayload(example.payload), `${kind.event} example matches ${kind.payloadName}`)
    }
  }
  for (const clientEvent of ['subscribe', 'unsubscribe']) {
    const operation = document.operations[clientEvent]
    t.equal(operation?.action, 'receive', `${clientEvent} is received by the bridge`)
    t.equal(operation?.reply?.messages[0]?.$ref, '#/channels/socket/messages/subscriptionAck', `${clientEvent} is answered by its ack`)
  }
})

t.test('the document carries the package\'s version', async (t) => {
  const manifest = JSON.parse(await readFile(new URL('../../../../package.json', import.meta.url), 'utf8')) as { version: string }
  t.equal((parse(committed) as { info: { version: string } }).info.version, manifest.version)
})
