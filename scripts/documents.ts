// The API documents as the app serves them, built with a default configuration so they do
// not depend on the environment of whoever generates them. A placeholder Pusher app is
// configured so that the document lists the Pusher HTTP API too (a bridge without one does not
// serve it, nor document it).
import Fastify from 'fastify'
import app from '../src/app.ts'
import { loadConfig } from '../src/config/index.ts'
import { serverOptions } from '../src/http/server-options.ts'

/** The Pusher app the documents are built with: any values do, none is a real secret. */
export const DOCUMENTED_PUSHER_APP = {
  BRIDGE_PUSHER_APP_ID: 'app-id',
  BRIDGE_PUSHER_KEY: 'app-key',
  BRIDGE_PUSHER_SECRET: 'app-secret'
}

export async function openapiYaml (): Promise<string> {
  const config = loadConfig({ NODE_ENV: 'development', LOG_LEVEL: 'silent', ...DOCUMENTED_PUSHER_APP })
  const fastify = Fastify(serverOptions(config))
  await fastify.register(app, { config })
  await fastify.ready()
  const yaml = fastify.swagger({ yaml: true })
  await fastify.close()
  return yaml
}
