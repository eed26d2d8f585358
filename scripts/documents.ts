// The API documents as the app serves them, built with a default configuration so they do
// not depend on the environment of whoever generates them.
import Fastify from 'fastify'
import app from '../src/app.ts'
import { loadConfig } from '../src/config.ts'
import { serverOptions } from '../src/server-options.ts'

export async function openapiYaml (): Promise<string> {
  const config = loadConfig({ NODE_ENV: 'development', LOG_LEVEL: 'silent' })
  const fastify = Fastify(serverOptions(config))
  await fastify.register(app, { config })
  await fastify.ready()
  const yaml = fastify.swagger({ yaml: true })
  await fastify.close()
  return yaml
}
