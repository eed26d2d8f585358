// PHP's built-in web server (`php -S`) running one of the test fixtures' front controllers, for
// the tests that run Laravel for real.
import { spawn } from 'node:child_process'
import type { Test } from 'tap'
import { freePort } from './bridge.ts'

/** `php -S 127.0.0.1:<free port> <script>` with only `env` (and PATH); resolves with its port once it serves. */
export async function startPhpServer (t: Test, script: string, env: Record<string, string>): Promise<number> {
  const port = await freePort()
  const php = spawn('php', ['-S', `127.0.0.1:${port}`, script], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  t.teardown(() => { php.kill() })
  await new Promise<void>((resolve, reject) => {
    let output = ''
    const check = (chunk: Buffer) => {
      output += chunk
      if (output.includes('Development Server')) resolve()
    }
    php.stdout.on('data', check)
    php.stderr.on('data', check)
    php.once('exit', (code) => reject(new Error(`php -S exited ${code}: ${output}`)))
  })
  return port
}
