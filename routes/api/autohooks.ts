// Hooks for everything under /api: only publishers with a token (and, when signing is on,
// a valid signature) get past them (plugins/app/publisher-auth.ts). Ops endpoints live outside
// /api and stay open.
import type { FastifyInstance } from 'fastify'

export default async function apiHooks (fastify: FastifyInstance) {
  fastify.requirePublisher(fastify)
}
