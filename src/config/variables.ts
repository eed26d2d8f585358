// Reads the variables back out of a config schema, in the order it declares them.
import type { TObject, TProperties, TSchema } from 'typebox'
import type { VariableSchema } from './kinds.ts'

/** An object of variables that only work together (`together` in kinds.ts). */
export type GroupSchema = TObject & { together: string }

export function isVariable (schema: TSchema): schema is VariableSchema {
  return typeof (schema as { env?: unknown }).env === 'string'
}

export function isGroup (schema: TSchema): schema is GroupSchema {
  return typeof (schema as { together?: unknown }).together === 'string'
}

/** Every variable of `properties`, those of groups included; fields without one are derived. */
export function variablesOf (properties: TProperties): VariableSchema[] {
  return Object.values(properties).flatMap((schema) => {
    if (isVariable(schema)) return [schema]
    return isGroup(schema) ? variablesOf(schema.properties) : []
  })
}
