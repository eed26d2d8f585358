// CORS for the HTTP API, limited to CORS_ORIGINS (any origin only outside production).
import cors, { type FastifyCorsOptions } from '@fastify/cors'
import type { FastifyInstance } from 'fastify'

export const autoConfig = (fastify: FastifyInstance): FastifyCorsOptions => ({
  origin: fastify.config.corsOrigins,
  methods: ['GET', 'POST'],
  allowedHeaders: ['Authorization', 'Content-Type', 'X-Request-Id', 'X-Bridge-Timestamp', 'X-Bridge-Signature'],
  maxAge: 600
})

export default cors
