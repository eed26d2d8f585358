// GET /demo (development only): a small page that connects, subscribes and shows what arrives.
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyPluginAsync } from 'fastify'

/** The directory holding package.json, whether the bridge runs from its sources or from dist/. */
function packageRoot (): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir)
    if (parent === dir) throw new Error('package.json not found above the demo route')
    dir = parent
  }
  return dir
}

/** CSP source expressions allowing exactly the page's inline `<tag>` blocks. */
function inlineHashes (page: string, tag: 'script' | 'style'): string {
  return [...page.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g'))]
    .map(([, body]) => `'sha256-${createHash('sha256').update(body ?? '').digest('base64')}'`)
    .join(' ')
}

const route: FastifyPluginAsync = async (fastify) => {
  if (fastify.config.production) return

  const page = await readFile(join(packageRoot(), 'public', 'demo.html'), 'utf8')
  // Tighter than a generic page policy: the socket.io client from this origin and the page's
  // own inline code, nothing else; connections only back to the bridge.
  const policy = [
    "default-src 'none'",
    `script-src 'self' ${inlineHashes(page, 'script')}`,
    `style-src ${inlineHashes(page, 'style')}`,
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'"
  ].join('; ')

  fastify.get('/demo', { schema: { hide: true } }, async (_request, reply) => {
    return reply.type('text/html; charset=utf-8').header('content-security-policy', policy).send(page)
  })
}

export default route
