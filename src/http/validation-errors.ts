// Turns Ajv's validation errors into one message that names the offending field.
import type { FastifySchemaValidationError } from 'fastify/types/schema.js'

function fieldPath (dataVar: string, instancePath: string): string {
  return instancePath === '' ? dataVar : `${dataVar}${instancePath}`
}

function describe (error: FastifySchemaValidationError, dataVar: string): string {
  const path = fieldPath(dataVar, error.instancePath)
  const params = error.params as Record<string, unknown>
  const schema = (error as { parentSchema?: { description?: string } }).parentSchema
  switch (error.keyword) {
    case 'required':
      return `${path}/${String(params.missingProperty)} is required`
    case 'additionalProperties':
      return `${path}/${String(params.additionalProperty)} is not an allowed field`
    case 'anyOf':
    case 'oneOf':
      return schema?.description !== undefined
        ? `${path} is invalid: ${schema.description}`
        : `${path} ${error.message ?? 'is invalid'}`
    case 'discriminator':
      return `${path}/${String(params.tag)} must be one of the event kinds (${kindsOf(schema)})`
    case 'pattern':
      return schema?.description !== undefined
        ? `${path} is invalid: ${schema.description}`
        : `${path} ${error.message ?? 'is invalid'}`
    default:
      return `${path} ${error.message ?? 'is invalid'}`
  }
}

function kindsOf (schema: unknown): string {
  const branches = (schema as { oneOf?: Array<{ properties?: { type?: { const?: string } } }> } | undefined)?.oneOf ?? []
  return branches.map((branch) => branch.properties?.type?.const).filter(Boolean).join(', ')
}

/**
 * Fastify's `schemaErrorFormatter`. Ajv stops at the first failing field; for a union
 * (`anyOf`) it lists each failed branch before the summary, which is the one reported.
 */
export function formatValidationErrors (errors: FastifySchemaValidationError[], dataVar: string): Error {
  const summary = errors.find((error) => error.keyword === 'anyOf' || error.keyword === 'oneOf' || error.keyword === 'discriminator')
  const chosen = summary ?? errors[0]
  return new Error(chosen === undefined ? `${dataVar} is invalid` : describe(chosen, dataVar))
}
