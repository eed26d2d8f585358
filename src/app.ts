// The bridge as one Fastify plugin: config, errors, then the autoloaded plugins/ and routes/.
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import autoload from '@fastify/autoload'
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { Config } from './config/index.ts'
import { createErrorHandler, notFoundHandler } from './http/errors.ts'
import { parseJsonBody } from './http/json-body.ts'
import { formatValidationErrors } from './http/validation-errors.ts'

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

async function bridge (fastify: FastifyInstance, opts: AppOptions) {
  fastify.decorate('config', opts.config)
  if (opts.config.corsOrigins !== true && opts.config.corsOrigins.length === 0) {
    fastify.log.warn('CORS_ORIGINS is not set: browsers are refused (socket.io connections and cross-origin HTTP requests from any web page); ' +
      'set CORS_ORIGINS to the frontend origins, e.g. CORS_ORIGINS=https://app.example.com')
  }

  // Publishers send JSON; anything else is a 415, not a string to validate.
  fastify.removeContentTypeParser('text/plain')
  // One JSON reader for every body, with 400s that say what is wrong (src/http/json-body.ts).
  fastify.removeContentTypeParser('application/json')
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    let value: unknown
    try {
      value = parseJsonBody(body as string)
    } catch (error) {
      done(error as Error, undefined)
      return
    }
    done(null, value)
  })
  fastify.setSchemaErrorFormatter(formatValidationErrors)

  fastify.setErrorHandler(createErrorHandler())
  fastify.setNotFoundHandler(notFoundHandler)

  // plugins/external, plugins/app and plugins/patches in one autoload: it orders them by their
  // declared dependencies, which cross the folders (socket.io's wrapper needs readiness).
  await fastify.register(autoload, {
    dir: join(root, 'plugins'),
    dirNameRoutePrefix: false,
    options: {},
    ignorePattern: /\.d\.ts$|\.map$/
  })
  await fastify.register(autoload, {
    dir: join(root, 'routes'),
    autoHooks: true,
    cascadeHooks: true,
    // The Pusher HTTP API (routes/apps) exists only for a configured Pusher app: no routes otherwise.
    ignorePattern: opts.config.pusher === undefined ? /\.d\.ts$|\.map$|^apps$/ : /\.d\.ts$|\.map$/
  })
}

export default fp(bridge, { name: 'bridge' })
