// `fastify.readiness`: whether the bridge takes traffic. False while shutting down, or while
// any named check fails (cluster mode adds one for Redis); served by `GET /ready`.
import fp from 'fastify-plugin'

/** True when the dependency it watches is usable; should answer quickly (it runs on every probe). */
export type ReadinessCheck = () => boolean | Promise<boolean>

export interface Readiness {
  /** True from the start of shutdown on: new connections are refused. */
  readonly shuttingDown: boolean
  /** Adds a check; `/ready` answers 503 naming it while it fails or throws. */
  addCheck (name: string, check: ReadinessCheck): void
  /** Why the bridge is not ready now: 'shutting down' and the names of failing checks. */
  problems (): Promise<string[]>
}

declare module 'fastify' {
  interface FastifyInstance {
    readiness: Readiness
  }
}

async function passes (check: ReadinessCheck): Promise<boolean> {
  try {
    return await check()
  } catch {
    return false
  }
}

export default fp(async function readiness (fastify) {
  const checks = new Map<string, ReadinessCheck>()
  let shuttingDown = false

  fastify.decorate('readiness', {
    get shuttingDown () { return shuttingDown },
    addCheck (name: string, check: ReadinessCheck) {
      checks.set(name, check)
    },
    async problems () {
      const failing = await Promise.all([...checks].map(async ([name, check]) => (await passes(check)) ? [] : [name]))
      return [...(shuttingDown ? ['shutting down'] : []), ...failing.flat()]
    }
  } satisfies Readiness)

  // First of the shutdown steps (see plugins/app/graceful-shutdown.ts).
  fastify.addHook('preClose', async () => {
    shuttingDown = true
  })
}, { name: 'readiness' })
