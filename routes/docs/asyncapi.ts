// GET /docs/asyncapi.yaml: the AsyncAPI 3.0 document of the socket.io side, as in the repo's asyncapi.yaml.
import type { FastifyPluginAsync } from 'fastify'
import { asyncapiYaml } from '../../src/asyncapi.ts'

const route: FastifyPluginAsync = async (fastify) => {
  const document = asyncapiYaml()
  fastify.get('/asyncapi.yaml', { schema: { hide: true } }, async (_request, reply) => {
    return reply.type('application/yaml; charset=utf-8').send(document)
  })
}

export default route
