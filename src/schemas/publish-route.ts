// The route schema of a publish route: validation, OpenAPI entry and the socket.io event it emits.
import type { TSchema } from 'typebox'
import { PublishAnswer, publishErrors } from './answers.ts'

interface EventDefinition<Body extends TSchema> {
  kind: string
  event: string
  payloadName: string
  body: Body
}

export function publishRouteSchema<Body extends TSchema> (definition: EventDefinition<Body>, summary: string) {
  const { event, payloadName } = definition
  return {
    tags: ['publish'],
    summary,
    description: `Emits the socket.io event \`${event}\` to every socket subscribed to \`room\`. ` +
      `Frontends receive the request body with \`uuid\` filled in (schema \`${payloadName}\`):\n\n` +
      `\`\`\`js\nsocket.on('${event}', (data) => { /* ${payloadName} */ })\n\`\`\`\n\n` +
      'Retrying with the same `uuid` within the de-duplication window answers 200 with ' +
      '`duplicate: true` and emits nothing.',
    operationId: event.replace(/_(\w)/g, (_match, letter: string) => letter.toUpperCase()),
    'x-socketio-event': {
      name: event,
      room: 'the request body\'s `room`',
      payload: { $ref: `#/components/schemas/${payloadName}` }
    },
    body: definition.body,
    response: {
      202: {
        ...PublishAnswer,
        description: `Accepted: \`${event}\` was handed to socket.io`,
        examples: [{ ok: true, event, room: 'chat_123', uuid: '2f1c7a52-8d0e-4c4b-9a57-3e6f0b1d9c21' }]
      },
      200: {
        ...PublishAnswer,
        description: 'Duplicate: this uuid was already accepted; nothing was emitted',
        examples: [{ ok: true, event, room: 'chat_123', uuid: '2f1c7a52-8d0e-4c4b-9a57-3e6f0b1d9c21', duplicate: true }]
      },
      ...publishErrors
    }
  }
}
