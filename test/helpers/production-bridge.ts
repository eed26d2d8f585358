// The bridge as its own process in production mode on 127.0.0.1, as the hostile suites attack
// it: a publisher token and a socket JWT secret, the rest as each suite sets it.
import type { Test } from 'tap'
import { freePort, secrets, startServer, waitFor } from './bridge.ts'

/** Started with `env` over the production basics; answers once `/health` does; killed when `t` ends. */
export async function startProductionBridge (t: Test, env: Record<string, string> = {}) {
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const server = startServer({
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: String(port),
    BRIDGE_API_TOKEN: secrets.apiToken,
    BRIDGE_JWT_SECRET: secrets.jwtSecret,
    ...env
  })
  const exited = new Promise<number | null>((resolve) => server.child.once('exit', resolve))
  t.teardown(async () => {
    if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL')
    await exited
  })
  await waitFor(async () => {
    if (server.child.exitCode !== null) throw new Error(`the bridge exited: ${server.output().stderr}`)
    return await fetch(`${url}/health`).then((response) => response.ok, () => false)
  }, 'the bridge to listen', 120_000)
  return { url, port, server }
}
