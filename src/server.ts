// Entry point: read the config, build the bridge, listen, shut down gracefully on signals.
import Fastify from 'fastify'
import closeWithGrace from 'close-with-grace'
import app from './app.ts'
import { ConfigError, loadConfig, type Config } from './config/index.ts'
import { headersTimeoutMs, serverOptions } from './http/server-options.ts'
import { guardSlowRequests } from './http/slow-request-guard.ts'
import { enabledPaths } from './ops/start-summary.ts'

function configOrExit (): Config {
  try {
    return loadConfig()
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`bridge: invalid configuration: ${error.message}\n`)
      process.exit(1)
    }
    throw error
  }
}

const config = configOrExit()
const fastify = Fastify(serverOptions(config))
guardSlowRequests(fastify.server, headersTimeoutMs(config), config.requestTimeoutMs)

try {
  await fastify.register(app, { config })
} catch (error) {
  // e.g. Redis unreachable in cluster mode: one clear line, then a non-zero exit.
  fastify.log.fatal({ err: error }, `could not start: ${error instanceof Error ? error.message : String(error)}`)
  process.exit(1)
}

// First signal: graceful shutdown (plugins/app/graceful-shutdown.ts has the steps), exit 0.
// A second signal, an error while closing, or BRIDGE_SHUTDOWN_TIMEOUT: exit 1.
closeWithGrace({ delay: config.shutdownTimeoutMs, logger: fastify.log }, async ({ signal, err }) => {
  if (err !== undefined) fastify.log.error({ err }, 'shutting down after an error')
  else fastify.log.info({ signal, timeoutMs: config.shutdownTimeoutMs }, 'shutting down')
  await fastify.close()
  fastify.log.info('shut down')
})

try {
  await fastify.listen({ port: config.port, host: config.host })
} catch (error) {
  fastify.log.fatal({ err: error }, 'could not start')
  process.exit(1)
}

const paths = enabledPaths(config)
fastify.log.info({ paths }, `started: ${paths.join('; ')}`)

if (config.openDevelopment) {
  if (isLoopback(config.host)) {
    fastify.log.info({ host: config.host }, `open development mode: listening on ${config.host} only, for this machine; set HOST (e.g. HOST=0.0.0.0) to accept other machines`)
  } else {
    fastify.log.warn({ host: config.host }, `open development mode: listening on ${config.host}, so other machines may publish and subscribe without a token`)
  }
}

function isLoopback (host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.')
}
