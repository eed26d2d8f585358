// The variables as documented: one row per README table line (variables that share one are
// declared with `row`), each with its default and meaning in Markdown. help.ts and
// scripts/config-table.ts print them.
import type { TProperties } from 'typebox'
import type { VariableSchema } from './kinds.ts'
import { ConfigSchema } from './schema.ts'
import { variablesOf } from './variables.ts'

export interface ConfigRow {
  names: string[]
  defaultText: string
  meaning: string
}

/** A constant default as the README shows it; undefined and empty lists read "none". */
function describeDefault (schema: VariableSchema): string {
  if (schema.defaultText !== undefined) return schema.defaultText
  if (schema.computedDefault !== undefined) throw new Error(`${schema.env}: a computed default needs a defaultText`)
  const value = schema.default
  if (value === undefined || (Array.isArray(value) && value.length === 0)) return 'none'
  if (typeof value === 'boolean') return value ? '`on`' : '`off`'
  return `\`${String(value)}\``
}

export function configRows (properties: TProperties = ConfigSchema.properties): ConfigRow[] {
  const rows: Array<ConfigRow & { defaults: string[] }> = []
  for (const schema of variablesOf(properties)) {
    const defaultText = describeDefault(schema)
    if (schema.row === undefined) {
      rows.push({ names: [schema.env], defaults: [defaultText], defaultText, meaning: schema.description ?? '' })
      continue
    }
    const row = rows.find((candidate) => candidate.names.includes(schema.row ?? ''))
    if (row === undefined) throw new Error(`${schema.env}: its row ${schema.row} must be declared before it`)
    row.names.push(schema.env)
    // Variables that default alike (the Pusher trio: none) show it once.
    if (!row.defaults.includes(defaultText)) row.defaults.push(defaultText)
  }
  return rows.map(({ names, defaults, meaning }) => ({ names, defaultText: defaults.join('; '), meaning }))
}
