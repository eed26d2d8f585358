// The npm package as a consumer gets it: `npm run package` builds and packs the repository, a
// plain `npm install` of the tarball (npm's defaults: install scripts on, no overrides) fills an
// empty project, and the installed `laravel-realtime-bridge` command answers --version and
// --help and starts a bridge that reads `.env` and delivers a publish.
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import semver from 'semver'
import t from 'tap'
import { configRows } from '../../../src/config/rows.ts'
import { checkPublish, startBridgeCommand } from '../../../scripts/smoke.ts'
import { freePort } from '../../helpers/bridge.ts'

// Builds, packs and installs from the registry: minutes on a slow network.
t.setTimeout(600_000)

const root = fileURLToPath(new URL('../../..', import.meta.url))
const manifest = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as {
  name: string, version: string, engines: { node: string }
}
const run = promisify(execFile)

/**
 * The environment of a consumer's shell: this Node first on the PATH (npm and the command's
 * `#!/usr/bin/env node` run on it), and none of the `npm_config_*` variables that `npm test`
 * passes down from the repository's `.npmrc` (ignore-scripts=true).
 */
const consumerEnv: Record<string, string> = Object.fromEntries(
  Object.entries(process.env).filter((entry): entry is [string, string] => entry[1] !== undefined && !/^npm_/i.test(entry[0]))
)
consumerEnv.PATH = [dirname(process.execPath), process.env.PATH ?? ''].join(delimiter)

async function npm (args: string[], cwd: string): Promise<{ stdout: string, stderr: string }> {
  return await run('npm', args, { cwd, env: consumerEnv, maxBuffer: 64 * 1024 * 1024 })
}

const work = await mkdtemp(join(tmpdir(), 'bridge-package-'))
t.teardown(() => rm(work, { recursive: true, force: true }))
const project = join(work, 'consumer')
const command = join(project, 'node_modules', '.bin', 'laravel-realtime-bridge')
const supportedNode = semver.satisfies(process.version, manifest.engines.node)

t.test('npm run package builds the tarball; a plain npm install of it works', async (t) => {
  await npm(['run', 'package', '--', '--pack-destination', work], root)
  const tarball = join(work, `${manifest.name}-${manifest.version}.tgz`)
  t.ok(existsSync(tarball), `npm run package wrote ${manifest.name}-${manifest.version}.tgz`)

  await mkdir(project)
  await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }))
  // Install scripts on, whatever the user's npm config says: dependencies' scripts run as for a consumer.
  const install = await npm(['install', '--ignore-scripts=false', '--no-audit', '--no-fund', tarball], project)
  t.ok(existsSync(command), 'the command is installed')
  if (supportedNode) t.notMatch(install.stderr, /EBADENGINE/, `no engine warnings on Node ${process.version}`)
  else t.comment(`Node ${process.version} is outside engines (${manifest.engines.node}): engine warnings expected`)
  t.notMatch(install.stderr, /ERESOLVE|overriding peer dependency/, 'no peer dependency conflicts')

  const installed = await readdir(join(project, 'node_modules'))
  for (const tool of ['tap', 'typescript', 'eslint', 'laravel-echo-server', 'playwright-core']) {
    t.notOk(installed.includes(tool), `the development dependency ${tool} is not installed`)
  }
  // Nothing runs at install on a consumer's machine: npm marks each package with an install script.
  const lock = JSON.parse(await readFile(join(project, 'package-lock.json'), 'utf8')) as { packages: Record<string, { hasInstallScript?: boolean }> }
  t.same(Object.keys(lock.packages).filter((path) => lock.packages[path]?.hasInstallScript === true), [], 'no installed package has an install script')
  const files = await readdir(join(project, 'node_modules', manifest.name))
  t.same(files.sort(), ['README.md', 'dist', 'package.json', 'public'], 'the package holds the build, the demo page and its README')
  t.notOk(existsSync(join(project, 'node_modules', manifest.name, 'dist', 'test')), 'no tests in the build')
})

t.test('--version and --help', async (t) => {
  const version = await run(command, ['--version'], { cwd: project, env: consumerEnv })
  t.equal(version.stdout, `${manifest.version}\n`, 'the package version')
  const help = await run(command, ['--help'], { cwd: project, env: consumerEnv })
  for (const name of configRows().flatMap((row) => row.names)) t.match(help.stdout, new RegExp(`\n(.*, )?${name}(,.*)?\n`), `lists ${name}`)
  const npx = await npm(['exec', '--', 'laravel-realtime-bridge', '--version'], project)
  t.equal(npx.stdout, `${manifest.version}\n`, 'npx laravel-realtime-bridge runs the installed command')
})

t.test('the command starts a bridge that reads .env from the working directory and delivers a publish', async (t) => {
  const port = await freePort()
  await writeFile(join(project, '.env'), `PORT=${port}\n`)
  const bridge = await startBridgeCommand(command, [], { cwd: project, env: { PATH: consumerEnv.PATH ?? '' } })
  t.teardown(() => bridge.stop())
  t.equal(new URL(bridge.url).port, String(port), 'listens on the PORT of .env')
  t.match(bridge.output(), 'OPEN MODE', 'says it runs in open development mode')
  await t.resolves(checkPublish(bridge.url), '/health answers and a publish reaches a subscribed socket')
  t.equal(await bridge.stop(), 0, 'exits 0 on SIGTERM')
})

t.test('a TypeScript frontend compiles against laravel-realtime-bridge/client', async (t) => {
  await writeFile(join(project, 'frontend.ts'), [
    "import type { ClientToServerEvents, NewMessageEvent, ServerToClientEvents } from 'laravel-realtime-bridge/client'",
    "export const onMessage: ServerToClientEvents['new_message'] = (event: NewMessageEvent) => { event.room.toUpperCase() }",
    "export const subscribe: Parameters<ClientToServerEvents['subscribe']>[0] = { room: 'chat_1' }",
    "// @ts-expect-error: not an event the bridge emits\nexport const wrong: ServerToClientEvents['no_such_event'] = () => {}",
    ''
  ].join('\n'))
  await writeFile(join(project, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, noEmit: true, skipLibCheck: true, types: [] },
    files: ['frontend.ts']
  }))
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
  const result = await run(process.execPath, [tsc, '-p', project], { cwd: project }).then(() => '', (error: { stdout: string }) => error.stdout)
  t.equal(result, '', 'tsc finds no error (and the @ts-expect-error is one)')
})
