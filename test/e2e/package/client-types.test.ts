// `laravel-realtime-bridge/client` as a frontend gets it: the package's declarations are built,
// installed into a separate project, and test/fixtures/frontend.ts must compile there.
import { execFile } from 'node:child_process'
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'

const root = fileURLToPath(new URL('../../..', import.meta.url))
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
const run = promisify(execFile)

t.setTimeout(180_000)

/** Runs tsc; resolves with its exit code and output instead of throwing on type errors. */
async function compile (args: string[]): Promise<{ code: number, output: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [tsc, ...args], { cwd: root, maxBuffer: 16 * 1024 * 1024 })
    return { code: 0, output: stdout + stderr }
  } catch (error) {
    const { code, stdout, stderr } = error as { code: number, stdout: string, stderr: string }
    return { code, output: stdout + stderr }
  }
}

const project = await mkdtemp(join(tmpdir(), 'bridge-frontend-'))
t.teardown(() => rm(project, { recursive: true, force: true }))

t.test('the package builds its declarations and installs into a frontend project', async (t) => {
  // The package as npm installs it: package.json and the compiled declarations, no sources.
  const installed = join(project, 'node_modules', 'laravel-realtime-bridge')
  await mkdir(installed, { recursive: true })
  await cp(join(root, 'package.json'), join(installed, 'package.json'))
  // `npm run build`'s settings, limited to the client entry point and what it imports.
  const buildConfig = join(project, 'tsconfig.build.json')
  await writeFile(buildConfig, JSON.stringify({
    extends: join(root, 'tsconfig.build.json'),
    compilerOptions: {
      rootDir: root, outDir: join(installed, 'dist'), emitDeclarationOnly: true, incremental: false, sourceMap: false, types: []
    },
    include: [],
    files: [join(root, 'src', 'client.ts')]
  }))
  const build = await compile(['-p', buildConfig])
  t.equal(build.code, 0, 'tsc builds the declarations')
  if (build.code !== 0) t.comment(build.output)
  // Its own dependencies (typebox) and the frontend's socket.io client.
  await symlink(join(root, 'node_modules'), join(installed, 'node_modules'), 'dir')
  for (const dependency of ['socket.io-client', '@socket.io']) {
    await symlink(join(root, 'node_modules', dependency), join(project, 'node_modules', dependency), 'dir')
  }
  await writeFile(join(project, 'frontend.ts'), await readFile(join(root, 'test', 'fixtures', 'frontend.ts')))
})

for (const [setup, compilerOptions] of [
  ['Node (module nodenext)', { module: 'nodenext', moduleResolution: 'nodenext' }],
  ['a bundler such as Vite (moduleResolution bundler)', { module: 'esnext', moduleResolution: 'bundler' }]
] as const) {
  t.test(`a frontend built for ${setup} gets typed handlers from the declarations`, async (t) => {
    const tsconfig = join(project, `tsconfig.${compilerOptions.moduleResolution}.json`)
    await writeFile(tsconfig, JSON.stringify({
      compilerOptions: {
        ...compilerOptions,
        target: 'es2022',
        lib: ['es2023', 'dom'],
        types: [],
        strict: true,
        noEmit: true,
        skipLibCheck: true
      },
      files: ['frontend.ts']
    }))
    const result = await compile(['-p', tsconfig, '--listFiles'])
    t.equal(result.code, 0, 'compiles, with every @ts-expect-error being an error')
    const files = result.output.split('\n')
    t.ok(files.some((file) => file.endsWith('/node_modules/laravel-realtime-bridge/dist/src/client.d.ts')),
      'the import resolves to the compiled declaration')
    t.notOk(files.some((file) => file.startsWith(root) && !file.startsWith(join(root, 'node_modules'))),
      'nothing is read from the bridge sources')
    if (result.code !== 0) t.comment(result.output.split('\n').filter((line) => line.includes('error TS')).join('\n'))
  })
}
