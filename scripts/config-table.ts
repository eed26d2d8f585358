// The README configuration table, generated from the config schema (src/config/schema.ts)
// between two markers: `npm run config-table` writes it, `npm run lint` checks it.
import { configRows, type ConfigRow } from '../src/config/rows.ts'

export const TABLE_START = '<!-- config-table: generated from src/config/schema.ts by `npm run config-table` -->'
export const TABLE_END = '<!-- /config-table -->'

function cell (markdown: string): string {
  return markdown.replaceAll('|', '\\|')
}

export function configTable (rows: ConfigRow[] = configRows()): string {
  return [
    '| variable | default | meaning |',
    '| --- | --- | --- |',
    ...rows.map((row) => `| ${row.names.map((name) => `\`${name}\``).join(', ')} | ${cell(row.defaultText)} | ${cell(row.meaning)} |`)
  ].join('\n')
}

/** The text between the markers, or undefined when they are missing. */
export function readmeConfigTable (readme: string): string | undefined {
  const start = readme.indexOf(TABLE_START)
  const end = readme.indexOf(TABLE_END)
  if (start === -1 || end < start) return undefined
  return readme.slice(start + TABLE_START.length, end).trim()
}

/** `readme` with `table` between the markers (a blank line ends the table before the end marker). */
export function withConfigTable (readme: string, table: string = configTable()): string {
  const start = readme.indexOf(TABLE_START)
  const end = readme.indexOf(TABLE_END)
  if (start === -1 || end < start) throw new Error(`README.md has no "${TABLE_START}" ... "${TABLE_END}" markers`)
  return `${readme.slice(0, start + TABLE_START.length)}\n${table}\n\n${readme.slice(end)}`
}
