// The bridge as one Fastify plugin: config, errors, then the autoloaded plugins/ and routes/.
import { STATUS_CODES } from 'node:http'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import autoload from '@fastify/autoload'
import fp from 'fastify-plugin'
import type { FastifyError, FastifyInstance } from 'fastify'
import type { Config } from './config.ts'
import { formatValidationErrors } from './validation-errors.ts'

declare module 'fastify' {
  interface FastifyInstance {
    config: Config
  }
}

export interface AppOptions {
  config: Config
}

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..')

// Run from TypeScript sources (tsx, or Node's own type stripping), autoload must load .ts
// files; it does not recognise every TypeScript loader by itself.
if (import.meta.url.endsWith('.ts')) process.env.FASTIFY_AUTOLOAD_TYPESCRIPT ??= '1'

/** The answer body for any error, in Fastify's shape; 5xx details stay in the log. */
function errorAnswer (error: FastifyError, statusCode: number) {
  const message = statusCode >= 500 && statusCode !== 503
    ? 'Something went wrong in the bridge; see its log'
    : error.message
  return {
    statusCode,
    error: STATUS_CODES[statusCode] ?? 'Error',
    message,
    ...(error.code !== undefined && { code: error.code })
  }
}

async function bridge (fastify: FastifyInstance, opts: AppOptions) {
  fastify.decorate('config', opts.config)

  // Publishers send JSON; anything else is a 415, not a string to validate.
  fastify.removeContentTypeParser('text/plain')
  fastify.setSchemaErrorFormatter(formatValidationErrors)

  fastify.setErrorHandler<FastifyError>((error, request, reply) => {
    const statusCode = error.statusCode !== undefined && error.statusCode >= 400 ? error.statusCode : 500
    if (statusCode >= 500) {
      request.log.error({ err: error }, 'request failed')
    } else {
      if (error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error instanceof SyntaxError) {
        error.message = 'body is not valid JSON'
      } else if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
        error.message = 'Content-Type must be application/json'
      }
      request.log.info({ method: request.method, url: request.url, statusCode, reason: error.message }, 'request refused')
    }
    // As Fastify's own handler does: e.g. WWW-Authenticate on a 401.
    const { headers } = error as { headers?: Record<string, string> }
    if (headers !== undefined) reply.headers(headers)
    return reply.code(statusCode).send(errorAnswer(error, statusCode))
  })

  fastify.setNotFoundHandler((request, reply) => {
    const message = `Route ${request.method}:${request.url.split('?')[0]} not found`
    return reply.code(404).send({ statusCode: 404, error: 'Not Found', message })
  })

  await fastify.register(autoload, {
    dir: join(root, 'plugins'),
    options: {},
    ignorePattern: /\.d\.ts$|\.map$/
  })
  await fastify.register(autoload, {
    dir: join(root, 'routes'),
    autoHooks: true,
    cascadeHooks: true,
    ignorePattern: /\.d\.ts$|\.map$/
  })
}

export default fp(bridge, { name: 'bridge' })
