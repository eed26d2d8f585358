// The README and docs/ stay true to the code: every relative link points at a file that
// exists, and every environment variable src/config.ts reads has a row in the README's
// configuration table.
import { existsSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')

/** Markdown link targets that are paths in the repository (no URLs, no in-page anchors). */
function relativeLinks (markdown: string): string[] {
  const targets = [...markdown.matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1] ?? '')
  return targets
    .filter((target) => !/^[a-z][a-z+.-]*:/i.test(target) && !target.startsWith('#') && !target.startsWith('/'))
    .map((target) => target.split('#')[0] ?? '')
}

/** Links of `file` (relative to the repository) whose target does not exist. */
function brokenLinks (file: string, markdown: string): string[] {
  return relativeLinks(markdown).filter((target) => !existsSync(join(root, dirname(file), target)))
}

/** The names of the environment variables the config module reads. */
function configVariables (source: string): string[] {
  const quoted = [...source.matchAll(/\benv(?:\.|, ')([A-Z][A-Z0-9_]+)\b/g)].map((match) => match[1] ?? '')
  return [...new Set(quoted)].sort()
}

/** The variables named in the first column of the table under `## Configuration`. */
function configurationRows (readme: string): Set<string> {
  const section = readme.split(/^## Configuration$/m)[1]?.split(/^## /m)[0] ?? ''
  const names = section.split('\n')
    .filter((line) => line.startsWith('| `'))
    .flatMap((line) => [...(line.split('|')[1] ?? '').matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((match) => match[1] ?? ''))
  return new Set(names)
}

const readme = await readFile(join(root, 'README.md'), 'utf8')

t.test('the README is short enough to read in ten minutes', async (t) => {
  t.ok(readme.split('\n').length <= 260, `README.md has ${readme.split('\n').length} lines`)
})

t.test('every relative link of the README, docs/ and examples/laravel points at an existing file', async (t) => {
  const docs = (await readdir(join(root, 'docs'))).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)
  const files = ['README.md', 'examples/laravel/README.md', 'plugins/patches/README.md', ...docs]
  for (const file of files) {
    const markdown = await readFile(join(root, file), 'utf8')
    t.same(brokenLinks(file, markdown), [], `${file} links only to files that exist`)
  }
  // The README points newcomers at each of these.
  for (const doc of ['security', 'laravel', 'cluster', 'operations', 'performance', 'recovery', 'echo', 'broadcasting']) {
    t.ok(relativeLinks(readme).includes(`docs/${doc}.md`), `README links docs/${doc}.md`)
  }
})

t.test('the link check finds a broken link', async (t) => {
  t.same(brokenLinks('README.md', 'see [x](docs/no-such-file.md#a), [y](https://example.com), [z](#configuration)'), ['docs/no-such-file.md'])
})

t.test('every variable src/config.ts reads has a row in the README configuration table', async (t) => {
  const variables = configVariables(await readFile(join(root, 'src/config.ts'), 'utf8'))
  t.ok(variables.length >= 20, `found ${variables.length} variables in src/config.ts`)
  t.ok(variables.includes('BRIDGE_API_TOKEN') && variables.includes('PORT'))
  const rows = configurationRows(readme)
  t.same(variables.filter((name) => !rows.has(name)), [], 'variables without a README row')
})

t.test('the configuration check finds a variable without a row', async (t) => {
  const variables = configVariables("readInteger(env, 'PORT', 3000)\nenv.BRIDGE_NEW_THING ?? 'x'")
  t.same(variables, ['BRIDGE_NEW_THING', 'PORT'])
  const rows = configurationRows('## Configuration\n\n| variable | default |\n| --- | --- |\n| `PORT`, `HOST` | `3000` |\n\n## Next\n| `BRIDGE_NEW_THING` | |\n')
  t.same(variables.filter((name) => !rows.has(name)), ['BRIDGE_NEW_THING'])
})
