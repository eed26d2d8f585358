// GET /docs/asyncapi.yaml: the AsyncAPI 3.0 document of the socket.io side, as in the repo's asyncapi.yaml.
// Served as text, so the link from Swagger UI opens a page the browser shows rather than a
// download; YAML tools read it whatever its media type.
import type { FastifyPluginAsync } from 'fastify'
import { asyncapiYaml } from '../../src/documents/asyncapi.ts'

const route: FastifyPluginAsync = async (fastify) => {
  const document = asyncapiYaml()
  fastify.get('/asyncapi.yaml', { schema: { hide: true } }, async (_request, reply) => {
    return reply.type('text/plain; charset=utf-8').header('content-disposition', 'inline').send(document)
  })
}

export default route
