// Rewrites the README configuration table from the config schema: `npm run config-table`.
import { readFile, writeFile } from 'node:fs/promises'
import { withConfigTable } from './config-table.ts'

const readmeUrl = new URL('../README.md', import.meta.url)
await writeFile(readmeUrl, withConfigTable(await readFile(readmeUrl, 'utf8')))
process.stdout.write('README.md configuration table written\n')
