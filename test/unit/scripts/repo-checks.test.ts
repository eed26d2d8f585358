// The repository lint of `npm run lint` (scripts/lint-repo.ts): each check passes on a good
// input and reports a bad one.
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { configTable, TABLE_END, TABLE_START, withConfigTable } from '../../../scripts/config-table.ts'
import {
  benchImportProblems,
  brokenLinkProblems,
  configTableProblems,
  importedPackages,
  missingDocLinkProblems,
  readmeLengthProblems,
  README_DOCS,
  typesPackageIn,
  undeclaredPackages
} from '../../../scripts/repo-checks.ts'

const root = fileURLToPath(new URL('../../..', import.meta.url))

t.test('the length check counts the lines a reader sees', async (t) => {
  const lines = (count: number) => Array.from({ length: count }, (_, index) => `line ${index}`).join('\n')
  t.same(readmeLengthProblems(lines(10), 10), [])
  t.same(readmeLengthProblems(`${TABLE_START}\n${lines(10)}\n${TABLE_END}`, 10), [], 'marker comments do not count')
  t.match(readmeLengthProblems(lines(11), 10), [/^README\.md has 11 lines, more than 10/])
})

t.test('the link check finds a broken link', async (t) => {
  const exists = (path: string) => path === 'docs/security.md'
  t.same(brokenLinkProblems('README.md', 'see [x](docs/no-such-file.md#a), [y](https://example.com), [z](#configuration), [s](docs/security.md#limits)', exists),
    ['README.md links to docs/no-such-file.md, which does not exist'])
  t.same(brokenLinkProblems('docs/cluster.md', '[security](security.md)', exists), [], 'relative to the linking file')
})

t.test('the README must link each of the docs newcomers need', async (t) => {
  const all = README_DOCS.map((doc) => `[${doc}](docs/${doc}.md)`).join('\n')
  t.same(missingDocLinkProblems(all), [])
  t.same(missingDocLinkProblems(all.replace('(docs/cluster.md)', '(docs/clusters.md)')), ['README.md does not link docs/cluster.md'])
})

t.test('the configuration check finds a table that is missing, stale, or lacks a variable', async (t) => {
  const readme = `# Bridge\n\n## Configuration\n\n${TABLE_START}\n| old table |\n${TABLE_END}\n\n## Next\n`
  const current = withConfigTable(readme)
  t.same(configTableProblems(current), [])
  t.match(current, /\n## Next\n$/, 'the rest of the README is kept')
  t.match(configTableProblems(readme), [/differs from src\/config\/schema\.ts: run `npm run config-table`/])
  const withoutRow = current.replace(/^\| `BRIDGE_WHISPERS` .*\n/m, '')
  t.not(withoutRow, current)
  t.match(configTableProblems(withoutRow), [/differs/])
  t.match(configTableProblems('## Configuration\n\n| variable | default | meaning |\n'), [/has no configuration table between/])
  t.throws(() => withConfigTable('no markers'), /no ".*" \.\.\. ".*" markers/)
})

t.test('the table has a row per variable, shared rows joined', async (t) => {
  const table = configTable([
    { names: ['PORT', 'HOST'], defaultText: '`3000`; `0.0.0.0`', meaning: 'where to listen' },
    { names: ['BRIDGE_X'], defaultText: 'none', meaning: 'a | b' }
  ])
  t.equal(table, [
    '| variable | default | meaning |',
    '| --- | --- | --- |',
    '| `PORT`, `HOST` | `3000`; `0.0.0.0` | where to listen |',
    '| `BRIDGE_X` | none | a \\| b |'
  ].join('\n'))
})

t.test('the bench/ import check finds an undeclared package and missing types', async (t) => {
  const imports = importedPackages("import { x } from 'left-pad-nowhere'\nimport type { WebSocket } from 'ws'\nconst { request } = await import('undici')\nimport 'node:fs'\nimport './local.ts'")
  t.same(imports, ['left-pad-nowhere', 'undici', 'ws'])
  t.same(undeclaredPackages(imports, { devDependencies: { undici: '1', ws: '1' } }, typesPackageIn(root)), ['left-pad-nowhere', '@types/ws'])
  t.same(benchImportProblems("import { request } from 'undici'", { devDependencies: {} }, typesPackageIn(root)),
    ['bench/ imports undici, which package.json does not declare'])
  t.match(benchImportProblems('', {}, typesPackageIn(root)), [/found nothing/], 'a scan that finds nothing is a problem, not a pass')
})
