// `fastify.backplane`: what differs between one bridge and a cluster (the bus between nodes,
// de-duplication claims, sessions of dropped clients, node liveness), chosen once from the
// configuration (src/backplane/create.ts). Its readiness checks go to `/ready`.
import fp from 'fastify-plugin'
import type { Backplane } from '../../src/backplane/backplane.ts'
import { createBackplane } from '../../src/backplane/create.ts'

declare module 'fastify' {
  interface FastifyInstance {
    backplane: Backplane
  }
}

export default fp(async function backplane (fastify) {
  const backplane = await createBackplane({ config: fastify.config, log: fastify.log, recoveryWindowMs: fastify.config.recoveryWindowSeconds * 1000 })
  fastify.decorate('backplane', backplane)
  for (const { name, ready } of backplane.readiness) fastify.readiness.addCheck(name, ready)
  // After the transport's own close (plugins close in the reverse order of their start).
  fastify.addHook('onClose', async () => {
    await backplane.close()
  })
}, {
  name: 'backplane',
  dependencies: ['readiness']
})
