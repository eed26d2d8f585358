// The repository's own lint, beyond eslint: the README stays short, relative links in the
// docs point at files that exist, the README configuration table is the one the config
// schema gives, and bench/ declares what it imports. Each check returns its problems, one line
// each; scripts/lint-repo.ts runs them.
import { existsSync, readFileSync } from 'node:fs'
import { builtinModules } from 'node:module'
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

/** The packages a TypeScript source imports (static, type-only and dynamic imports), by package name. */
export function importedPackages (source: string): string[] {
  const specifiers = [...source.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)'([^']+)'/gm)].map((match) => match[1] ?? '')
  const packages = specifiers
    .filter((specifier) => !specifier.startsWith('.') && !specifier.startsWith('/') && !specifier.startsWith('node:') && !builtinModules.includes(specifier))
    .map((specifier) => specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/'))
  return [...new Set(packages)].sort()
}

/** For packages installed under `root`: the @types package one needs, or undefined when it ships its own types. */
export function typesPackageIn (root: string): (name: string) => string | undefined {
  return (name) => {
    const path = join(root, 'node_modules', name, 'package.json')
    if (!existsSync(path)) return undefined
    const manifest = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>
    const ownTypes = manifest.types !== undefined || manifest.typings !== undefined ||
      JSON.stringify(manifest.exports ?? {}).includes('"types"') || existsSync(join(root, 'node_modules', name, 'index.d.ts'))
    return ownTypes ? undefined : `@types/${name.replace('@', '').replace('/', '__')}`
  }
}

export interface Manifest { dependencies?: object, devDependencies?: object }

/** What `imports` needs (each package, and its @types when it has no types of its own) that the manifest does not declare. */
export function undeclaredPackages (imports: string[], manifest: Manifest, typesPackage: (name: string) => string | undefined): string[] {
  const declared = new Set([...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.devDependencies ?? {})])
  const needed = imports.flatMap((name) => [name, typesPackage(name) ?? []].flat())
  return needed.filter((name) => !declared.has(name))
}

/** bench/ runs from a fresh clone: every package it imports, and its types, is declared in package.json. */
export function benchImportProblems (benchSources: string, manifest: Manifest, typesPackage: (name: string) => string | undefined): string[] {
  const imports = importedPackages(benchSources)
  if (imports.length === 0) return ['bench/ imports no package: the import scan of scripts/repo-checks.ts found nothing']
  return undeclaredPackages(imports, manifest, typesPackage).map((name) => `bench/ imports ${name}, which package.json does not declare`)
}
