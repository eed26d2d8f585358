// Authorization by Laravel: asks the app's `/broadcasting/auth` about one subscription, with
// the user's credentials and nothing else, and reads the answer the way Echo's servers do.
import type { LogFn } from 'pino'
import type { PusherApp } from '../../../config/index.ts'
import type { Member } from '../../../channels/member.ts'
import type { ChannelKind } from '../../../channels/names.ts'
import { deeperThan, MAX_JSON_DEPTH } from '../../../schemas/json-depth.ts'
import { pusherAuthMatches } from './channel-auth-signature.ts'
import type { ForwardedHeaders } from '../requests.ts'

export type Authorization =
  | { allowed: true, member?: Member }
  | { allowed: false, status: number, reason: string }

export interface LaravelAuthorizationRequest {
  channel: string
  kind: Exclude<ChannelKind, 'public'>
  socketId: string
  cookie?: string
  /** `Authorization` and `X-CSRF-TOKEN` from the subscription's `auth.headers`. */
  headers: ForwardedHeaders
  forwardedFor?: string
}

export interface LaravelAuthorizerOptions {
  endpoint: string
  timeoutMs: number
  pusher?: PusherApp
  log: { warn: LogFn, info: LogFn, debug: LogFn }
}

/** Largest answer read from the endpoint (Laravel's are small). */
const MAX_ANSWER_BYTES = 64 * 1024
/** Nobody waits for the answer any more (nginx's "client closed request"). */
const CANCELLED = 499
const MAX_DEPTH = MAX_JSON_DEPTH

function refused (status: number, reason: string): Authorization {
  return { allowed: false, status, reason }
}

function isObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

async function readCapped (response: Response): Promise<string | undefined> {
  if (response.body === null) return ''
  const chunks: Uint8Array[] = []
  let size = 0
  for await (const chunk of response.body) {
    size += chunk.byteLength
    if (size > MAX_ANSWER_BYTES) {
      await response.body.cancel().catch(() => {})
      return undefined
    }
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}

function memberOf (channelData: unknown): Member | string {
  let data = channelData
  if (typeof data === 'string') {
    try {
      data = JSON.parse(data)
    } catch {
      return 'channel_data is a string but not JSON'
    }
  }
  if (!isObject(data)) return 'channel_data is missing or not an object'
  const userId = data.user_id
  const usable = (typeof userId === 'string' && userId !== '' && userId.length <= 256) ||
    (typeof userId === 'number' && Number.isFinite(userId))
  if (!usable) return 'channel_data.user_id is missing, or not a string or number'
  if (deeperThan(data.user_info, MAX_DEPTH)) return `channel_data.user_info is nested deeper than ${MAX_DEPTH} levels`
  return data.user_info === undefined ? { user_id: userId } : { user_id: userId, user_info: data.user_info }
}

export function readAnswer (body: string, request: LaravelAuthorizationRequest, pusher?: PusherApp): Authorization {
  let answer: unknown
  try {
    answer = JSON.parse(body)
  } catch {
    return refused(502, 'the answer is not JSON')
  }
  let member: Member | undefined
  let signedData: string | undefined
  if (request.kind === 'presence') {
    if (!isObject(answer)) return refused(502, 'a presence channel needs an answer with channel_data')
    const found = memberOf(answer.channel_data)
    if (typeof found === 'string') return refused(502, found)
    member = found
    signedData = typeof answer.channel_data === 'string' ? answer.channel_data : JSON.stringify(answer.channel_data)
  } else if (answer !== true && !isObject(answer)) {
    return refused(502, 'a private channel needs true or an object as the answer')
  }
  if (pusher !== undefined && isObject(answer) && answer.auth !== undefined) {
    const matches = typeof answer.auth === 'string' &&
      pusherAuthMatches(pusher, answer.auth, request.socketId, request.channel, signedData)
    if (!matches) return refused(403, 'the answer\'s Pusher auth signature does not match BRIDGE_PUSHER_KEY and BRIDGE_PUSHER_SECRET')
  }
  return member === undefined ? { allowed: true } : { allowed: true, member }
}

/** What a refusal of Laravel's most likely means, keyed so each kind is told once. */
export function refusalHint (status: number, request: Pick<LaravelAuthorizationRequest, 'cookie' | 'headers'>): { kind: string, hint: string } {
  const credentials = request.cookie !== undefined || request.headers.authorization !== undefined
  if (status === 404) {
    return { kind: '404', hint: 'wrong path: BRIDGE_AUTH_ENDPOINT must be the URL of Laravel\'s broadcasting/auth route (registered by Broadcast::routes(); `php artisan route:list` shows it)' }
  }
  if (status === 419) {
    return { kind: '419', hint: 'CSRF token mismatch: add \'broadcasting/auth\' to $except in app/Http/Middleware/VerifyCsrfToken.php, or have Echo send X-CSRF-TOKEN (a <meta name="csrf-token"> on the page, or Echo\'s csrfToken option)' }
  }
  if ((status === 401 || status === 403) && !credentials) {
    return {
      kind: `${status}-no-credentials`,
      hint: 'no cookie reached the bridge (and no bearer token): the socket.io handshake carried none. A page on another origin needs Echo\'s withCredentials: true ' +
        'and its origin in CORS_ORIGINS, and the session cookie must cover the bridge\'s host (SESSION_DOMAIN=.example.com); a page on another site sends no cookie (use bearerToken)'
    }
  }
  if (status === 401 || status === 403) {
    return { kind: String(status), hint: 'Laravel refused this user: the channel\'s callback in routes/channels.php returned false, or the session or token is not a signed-in user (normal for a user asking for a channel that is not theirs)' }
  }
  if (status >= 300 && status < 400) {
    return { kind: 'redirect', hint: 'Laravel redirected (to a login page, or http to https): BRIDGE_AUTH_ENDPOINT must be the final URL of broadcasting/auth, and the user must be signed in' }
  }
  return { kind: String(status), hint: 'see the response of broadcasting/auth in Laravel\'s log' }
}

function describe (endpoint: string): string {
  const url = new URL(endpoint)
  return `${url.origin}${url.pathname}`
}

export function createLaravelAuthorizer ({ endpoint, timeoutMs, pusher, log }: LaravelAuthorizerOptions) {
  const where = describe(endpoint)
  /** One warning when Laravel starts failing, one line when it answers again. */
  let failing = false
  /** A signature that does not match is a configuration mistake: said once. */
  let warnedSignature = false
  /** The first refusal of each kind is logged at warn with a hint: how a wrong setup shows at LOG_LEVEL=info. */
  const refusalsTold = new Set<string>()

  function refusedByLaravel (status: number, request: LaravelAuthorizationRequest): Authorization {
    const { kind, hint } = refusalHint(status, request)
    const details = { endpoint: where, status, channel: request.channel, cookie: request.cookie !== undefined, hint }
    if (refusalsTold.has(kind)) {
      log.debug(details, 'BRIDGE_AUTH_ENDPOINT refused a subscription')
    } else {
      refusalsTold.add(kind)
      log.warn(details, `BRIDGE_AUTH_ENDPOINT answered ${status} (first time; later ones at debug): ${hint}`)
    }
    return refused(status, `Laravel answered ${status}`)
  }

  function failure (status: number, reason: string): Authorization {
    if (!failing) {
      failing = true
      log.warn({ endpoint: where, status, reason }, 'Laravel authorization endpoint failing: private and presence subscriptions are refused until it answers')
    } else {
      log.debug({ endpoint: where, status, reason }, 'Laravel authorization endpoint still failing')
    }
    return refused(status, reason)
  }

  function answered (): void {
    if (!failing) return
    failing = false
    log.info({ endpoint: where }, 'Laravel authorization endpoint answering again')
  }

  async function ask (request: LaravelAuthorizationRequest, cancel?: AbortSignal): Promise<Authorization> {
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
      'x-requested-with': 'XMLHttpRequest'
    }
    if (request.cookie !== undefined) headers.cookie = request.cookie
    if (request.headers.authorization !== undefined) headers.authorization = request.headers.authorization
    if (request.headers.csrfToken !== undefined) headers['x-csrf-token'] = request.headers.csrfToken
    if (request.forwardedFor !== undefined) headers['x-forwarded-for'] = request.forwardedFor
    const body = new URLSearchParams({ channel_name: request.channel, socket_id: request.socketId }).toString()

    let response: Response
    let text: string | undefined
    // One controller for the timeout and the cancel (AbortSignal.any has leaked in Node 20 and 22).
    const controller = new AbortController()
    const abort = () => controller.abort()
    const timer = setTimeout(abort, timeoutMs)
    cancel?.addEventListener('abort', abort)
    try {
      // A redirect (to a login page) is an answer, not something to follow with the user's cookie.
      response = await fetch(endpoint, { method: 'POST', headers, body, redirect: 'manual', signal: controller.signal })
      text = await readCapped(response)
    } catch (error) {
      // Nobody waits for this answer any more (the socket went): not Laravel's failure.
      if (cancel?.aborted === true) return refused(CANCELLED, 'the call was cancelled')
      if (controller.signal.aborted) return failure(504, `no answer within ${timeoutMs} ms`)
      const cause = (error as { cause?: { code?: string, message?: string } }).cause
      return failure(502, `unreachable: ${cause?.code ?? cause?.message ?? String(error)}`)
    } finally {
      clearTimeout(timer)
      cancel?.removeEventListener('abort', abort)
    }
    if (response.status >= 500) return failure(response.status, `Laravel answered ${response.status}`)
    if (response.status !== 200) {
      answered()
      return refusedByLaravel(response.status, request)
    }
    if (text === undefined) return failure(502, `the answer is longer than ${MAX_ANSWER_BYTES} bytes`)
    const decision = readAnswer(text, request, pusher)
    if (!decision.allowed && decision.status === 502) return failure(502, decision.reason)
    answered()
    if (!decision.allowed && !warnedSignature) {
      warnedSignature = true
      log.warn({ endpoint: where, channel: request.channel }, decision.reason)
    }
    return decision
  }

  return {
    /** Laravel's decision on one subscription; never rejects. `cancel` aborts the call. */
    async authorize (request: LaravelAuthorizationRequest, cancel?: AbortSignal): Promise<Authorization> {
      try {
        return await ask(request, cancel)
      } catch (error) {
        return failure(502, `could not ask: ${String(error)}`)
      }
    }
  }
}
