// Hooks for the Pusher HTTP API under /apps (only loaded when a Pusher app is configured, see
// src/app.ts): every request signed by that app, errors in Pusher's shape (plugins/app/pusher-auth.ts).
import type { FastifyInstance } from 'fastify'

export default async function pusherHooks (fastify: FastifyInstance) {
  fastify.requirePusherApp(fastify)
}
