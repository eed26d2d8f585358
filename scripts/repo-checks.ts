// The repository's own lint, beyond eslint: the README stays short, relative links in the
// docs point at files that exist, and the README configuration table is the one the config
// schema gives. Each check returns its problems, one line each; scripts/lint-repo.ts runs them.
import { dirname, join } from 'node:path'
import { configTable, readmeConfigTable, TABLE_END, TABLE_START } from './config-table.ts'

export const MAX_README_LINES = 400

/** Docs the README must point newcomers at. */
export const README_DOCS = ['security', 'laravel', 'cluster', 'operations', 'performance', 'recovery', 'echo', 'broadcasting']

/** A README one can read in ten minutes; marker comments (invisible when rendered) do not count. */
export function readmeLengthProblems (readme: string, max = MAX_README_LINES): string[] {
  const lines = readme.split('\n').filter((line) => !/^<!--.*-->$/.test(line)).length
  return lines <= max ? [] : [`README.md has ${lines} lines, more than ${max}: move details to docs/`]
}

/** Markdown link targets that are paths in the repository (no URLs, no in-page anchors). */
export function relativeLinks (markdown: string): string[] {
  const targets = [...markdown.matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1] ?? '')
  return targets
    .filter((target) => !/^[a-z][a-z+.-]*:/i.test(target) && !target.startsWith('#') && !target.startsWith('/'))
    .map((target) => target.split('#')[0] ?? '')
}

/** Links of `file` (a path in the repository) whose target does not exist. */
export function brokenLinkProblems (file: string, markdown: string, exists: (path: string) => boolean): string[] {
  return relativeLinks(markdown)
    .filter((target) => !exists(join(dirname(file), target)))
    .map((target) => `${file} links to ${target}, which does not exist`)
}

export function missingDocLinkProblems (readme: string, docs = README_DOCS): string[] {
  const links = relativeLinks(readme)
  return docs.filter((doc) => !links.includes(`docs/${doc}.md`)).map((doc) => `README.md does not link docs/${doc}.md`)
}

export function configTableProblems (readme: string, table = configTable()): string[] {
  const current = readmeConfigTable(readme)
  if (current === undefined) return [`README.md has no configuration table between "${TABLE_START}" and "${TABLE_END}"`]
  return current === table ? [] : ['README.md configuration table differs from src/config/schema.ts: run `npm run config-table`']
}
