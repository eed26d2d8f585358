// asyncapi.yaml documents Laravel Echo's protocol: every event Echo sends and the bridge emits
// to it, each example valid against its schema.
import { readFile } from 'node:fs/promises'
import { Ajv } from 'ajv'
import t from 'tap'
import { parse } from 'yaml'

interface Document {
  operations: Record<string, { action: string, messages: Array<{ $ref: string }> }>
  channels: Record<string, { messages: Record<string, { $ref: string }> }>
  components: {
    schemas: Record<string, object>
    messages: Record<string, { name: string, payload: { $ref: string }, examples: Array<{ payload: unknown }> }>
  }
}

const document = parse(await readFile(new URL('../../../../asyncapi.yaml', import.meta.url), 'utf8')) as Document

t.test('Echo\'s events are operations of the socket channel, each example matching its schema', async (t) => {
  const expected: Record<string, ['send' | 'receive', string]> = {
    echoSubscribe: ['receive', 'subscribe'],
    echoUnsubscribe: ['receive', 'unsubscribe'],
    clientEvent: ['receive', 'client event'],
    echoChannelEvent: ['send', '<event name>'],
    subscriptionSucceeded: ['send', 'subscription_succeeded'],
    subscriptionError: ['send', 'subscription_error'],
    presenceSubscribed: ['send', 'presence:subscribed'],
    presenceJoining: ['send', 'presence:joining'],
    presenceLeaving: ['send', 'presence:leaving']
  }
  const ajv = new Ajv({ strict: false })
  for (const [id, [action, name]] of Object.entries(expected)) {
    t.equal(document.operations[id]?.action, action, `${id} is ${action === 'send' ? 'sent' : 'received'} by the bridge`)
    t.equal(document.channels.socket?.messages[id]?.$ref, `#/components/messages/${id}`)
    const message = document.components.messages[id]
    t.equal(message?.name, name, `${id} is the socket.io event ${name}`)
    const schema = document.components.schemas[message?.payload.$ref.replace('#/components/schemas/', '') ?? '']
    t.ok(schema, `${id} has a schema`)
    const validate = ajv.compile(schema ?? {})
    for (const example of message?.examples ?? []) t.ok(validate(example.payload), `${id} example matches its schema`)
  }
  const validate = ajv.compile(document.components.schemas.EchoSubscribeRequest ?? {})
  t.notOk(validate({ channel: 'bad name' }), 'the schema has the channel name rule')
  t.notOk(validate({ channel: 'x'.repeat(165) }))
})
