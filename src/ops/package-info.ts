// The bridge's own package.json (its name and version, for `--version` and the API documents),
// found from this file whether the bridge runs from src/, dist/src/ or an installed package.
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The directory holding the bridge's package.json. */
export function packageRoot (): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir)
    if (parent === dir) throw new Error(`package.json not found above ${fileURLToPath(import.meta.url)}`)
    dir = parent
  }
  return dir
}

export const packageJson = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { name: string, version: string }
