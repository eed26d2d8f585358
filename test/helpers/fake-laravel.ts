// A stand-in for Laravel's `/broadcasting/auth` that records what the bridge sent and answers
// as each test says: a status, a body of any Content-Type, slowly, or not at all.
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Test } from 'tap'

export interface AuthRequest {
  method: string
  url: string
  headers: IncomingHttpHeaders
  body: string
  /** The form fields of the body. */
  form: Record<string, string>
}

/** How to answer one request: a status and body (text/html unless said), or full control. */
export type Answer =
  | { status: number, body: string, contentType?: string }
  | ((request: AuthRequest, response: ServerResponse) => void)

export interface FakeLaravel {
  url: string
  requests: AuthRequest[]
  /** Decides the answer for each request (by default: `true` for everything, as text/html). */
  answer: (request: AuthRequest) => Answer
  /** Resolves once `count` requests have arrived. */
  received: (count: number) => Promise<void>
}

export async function fakeLaravel (t: Test): Promise<FakeLaravel> {
  const waiting: Array<{ count: number, resolve: () => void }> = []
  const fake: FakeLaravel = {
    url: '',
    requests: [],
    answer: () => ({ status: 200, body: 'true' }),
    received: (count) => new Promise((resolve) => {
      if (fake.requests.length >= count) return resolve()
      waiting.push({ count, resolve })
    })
  }
  const server = createServer(async (request, response) => {
    const chunks: Buffer[] = []
    for await (const chunk of request) chunks.push(chunk as Buffer)
    const body = Buffer.concat(chunks).toString('utf8')
    const recorded: AuthRequest = {
      method: request.method ?? '',
      url: request.url ?? '',
      headers: request.headers,
      body,
      form: Object.fromEntries(new URLSearchParams(body))
    }
    fake.requests.push(recorded)
    for (const waiter of waiting.filter(({ count }) => fake.requests.length >= count)) {
      waiting.splice(waiting.indexOf(waiter), 1)
      waiter.resolve()
    }
    const answer = fake.answer(recorded)
    if (typeof answer === 'function') return answer(recorded, response)
    // Laravel sends the string RedisBroadcaster::auth() returns as text/html.
    response.writeHead(answer.status, { 'content-type': answer.contentType ?? 'text/html; charset=UTF-8' })
    response.end(answer.body)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  }))
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/broadcasting/auth`
  return fake
}
