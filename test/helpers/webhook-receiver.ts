// A real HTTP receiver of the bridge's webhooks (node:http on a free port): it records each
// request's headers and raw body, checks the signature as Pusher's SDKs do, and answers as the
// test says (a status, a redirect, a huge body, or never).
import { createHmac, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Test } from 'tap'
import type { WebhookEvent } from '../../src/webhooks/events.ts'
import { pusherApp } from './pusher.ts'

export interface ReceivedWebhook {
  headers: IncomingMessage['headers']
  raw: string
  body: { time_ms: number, events: WebhookEvent[] }
  signed: boolean
  /** When it arrived (ms since the epoch). */
  at: number
}

/** How the receiver answers a request: by default 200. */
export type Answer = (request: ReceivedWebhook, response: ServerResponse) => void

export async function webhookReceiver (t: Test, secret = pusherApp.secret) {
  const requests: ReceivedWebhook[] = []
  let answer: Answer = (_request, response) => { response.end('ok') }
  const server = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8')
      const expected = createHmac('sha256', secret).update(raw).digest()
      const given = Buffer.from(String(request.headers['x-pusher-signature'] ?? ''), 'hex')
      const received: ReceivedWebhook = {
        headers: request.headers,
        raw,
        body: JSON.parse(raw) as ReceivedWebhook['body'],
        signed: given.length === expected.length && timingSafeEqual(given, expected),
        at: Date.now()
      }
      requests.push(received)
      answer(received, response)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  }))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/pusher/webhooks`,
    requests,
    /** Every event answered 2xx so far, in arrival order. */
    delivered (): WebhookEvent[] {
      return requests.flatMap((request) => request.body.events)
    },
    answer (next: Answer): void {
      answer = next
    },
    server
  }
}

export type WebhookReceiver = Awaited<ReturnType<typeof webhookReceiver>>

/** The events of `channel` the receiver got, as `name` or `name:user`. */
export function eventsOf (events: readonly WebhookEvent[], channel: string): string[] {
  return events.filter((event) => event.channel === channel).map((event) => 'user_id' in event && event.name !== 'client_event' ? `${event.name}:${event.user_id}` : event.name)
}
