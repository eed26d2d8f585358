// Request logs: no "incoming request" line, and completed requests at debug unless they
// failed, so each request costs one line at the default level: the publisher's "published"
// line, or the error handler's "request refused" line that names the reason. Shed requests
// (503) are not errors: the load-shedding plugin logs one warning, not a line per request.
// URLs are logged cut short: a client chooses them.
import { LogController, type FastifyReply, type FastifyRequest } from 'fastify'
import { withoutSignature } from '../auth/pusher-signature.ts'

/** Longest URL a log line carries: a client may send kilobytes of one. */
export const MAX_LOGGED_URL_LENGTH = 256

/** A request URL as log lines carry it: without a Pusher signature, cut to MAX_LOGGED_URL_LENGTH. */
export function loggedUrl (url: string): string {
  const shown = withoutSignature(url)
  return shown.length <= MAX_LOGGED_URL_LENGTH ? shown : `${shown.slice(0, MAX_LOGGED_URL_LENGTH - 1)}…`
}

export class BridgeLogController extends LogController {
  override incomingRequest (): void {}

  override requestCompleted (error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const failed = Boolean(error) || (reply.statusCode >= 500 && reply.statusCode !== 503)
    // The common case writes nothing: do not build a line that is thrown away.
    if (!failed && reply.log.level !== 'debug' && reply.log.level !== 'trace') return
    const details = {
      method: request.method,
      url: loggedUrl(request.url),
      statusCode: reply.statusCode,
      responseTime: Math.round(reply.elapsedTime * 100) / 100
    }
    if (error) reply.log.error({ ...details, err: error }, 'request errored')
    else if (reply.statusCode >= 500 && reply.statusCode !== 503) reply.log.error(details, 'request completed')
    else reply.log.debug(details, 'request completed')
  }
}
