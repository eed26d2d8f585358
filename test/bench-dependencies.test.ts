// bench/ runs from a fresh clone: every package it imports is declared in package.json, and a
// package that ships no types of its own has its @types package declared too.
import { existsSync, readFileSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { builtinModules } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const root = fileURLToPath(new URL('..', import.meta.url))

/** The packages a TypeScript source imports (static, type-only and dynamic imports), by package name. */
function importedPackages (source: string): string[] {
  const specifiers = [...source.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)'([^']+)'/gm)].map((match) => match[1] ?? '')
  const packages = specifiers
    .filter((specifier) => !specifier.startsWith('.') && !specifier.startsWith('/') && !specifier.startsWith('node:') && !builtinModules.includes(specifier))
    .map((specifier) => specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/'))
  return [...new Set(packages)].sort()
}

/** The @types package a package needs, or undefined when it ships its own types. */
function typesPackage (name: string): string | undefined {
  const path = join(root, 'node_modules', name, 'package.json')
  if (!existsSync(path)) return undefined
  const manifest = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>
  const ownTypes = manifest.types !== undefined || manifest.typings !== undefined ||
    JSON.stringify(manifest.exports ?? {}).includes('"types"') || existsSync(join(root, 'node_modules', name, 'index.d.ts'))
  return ownTypes ? undefined : `@types/${name.replace('@', '').replace('/', '__')}`
}

/** What bench/ imports that package.json does not declare. */
function undeclared (imports: string[], manifest: { dependencies?: object, devDependencies?: object }): string[] {
  const declared = new Set([...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.devDependencies ?? {})])
  const needed = imports.flatMap((name) => [name, typesPackage(name) ?? []].flat())
  return needed.filter((name) => !declared.has(name))
}

const manifest = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { dependencies?: object, devDependencies?: object }

t.test('every package bench/ imports, and its types, is declared in package.json', async (t) => {
  const files = (await readdir(join(root, 'bench'))).filter((name) => name.endsWith('.ts'))
  const imports = importedPackages((await Promise.all(files.map((name) => readFile(join(root, 'bench', name), 'utf8')))).join('\n'))
  t.ok(imports.includes('ws') && imports.includes('undici') && imports.includes('redis'), `bench/ imports ${imports.join(', ')}`)
  t.same(undeclared(imports, manifest), [], 'packages bench/ needs that package.json does not declare')
})

t.test('the check finds an undeclared package and missing types', async (t) => {
  const imports = importedPackages("import { x } from 'left-pad-nowhere'\nimport type { WebSocket } from 'ws'\nconst { request } = await import('undici')\nimport 'node:fs'\nimport './local.ts'")
  t.same(imports, ['left-pad-nowhere', 'undici', 'ws'])
  t.same(undeclared(imports, { devDependencies: { undici: '1', ws: '1' } }), ['left-pad-nowhere', '@types/ws'])
})
