// `npm run lint` runs this after eslint: the checks of scripts/repo-checks.ts on this
// repository (README length and links, docs links, the configuration table, bench/ imports),
// one line per problem, exit 1 if there is any.
import { existsSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  benchImportProblems,
  brokenLinkProblems,
  configTableProblems,
  missingDocLinkProblems,
  readmeLengthProblems,
  typesPackageIn,
  type Manifest
} from './repo-checks.ts'

const root = fileURLToPath(new URL('..', import.meta.url))
const read = (file: string) => readFile(join(root, file), 'utf8')

const readme = await read('README.md')
const docs = (await readdir(join(root, 'docs'))).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)
const linked = ['README.md', 'examples/laravel/README.md', 'plugins/patches/README.md', ...docs]

const manifest = JSON.parse(await read('package.json')) as Manifest
const benchFiles = (await readdir(join(root, 'bench'))).filter((name) => name.endsWith('.ts'))
const benchSources = (await Promise.all(benchFiles.map((name) => read(`bench/${name}`)))).join('\n')

const problems = [
  ...readmeLengthProblems(readme),
  ...missingDocLinkProblems(readme),
  ...configTableProblems(readme),
  ...benchImportProblems(benchSources, manifest, typesPackageIn(root))
]
for (const file of linked) {
  problems.push(...brokenLinkProblems(file, await read(file), (path) => existsSync(join(root, path))))
}

for (const problem of problems) process.stderr.write(`lint-repo: ${problem}\n`)
process.exitCode = problems.length === 0 ? 0 : 1
